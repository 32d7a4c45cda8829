/** Well-known defaults shared by the directory and the peer. */

/** TCP port a directory listens on unless told otherwise, and where peers look for one by default. */
export const DEFAULT_DIRECTORY_PORT = 7447;
