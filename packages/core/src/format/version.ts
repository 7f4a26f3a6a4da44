export const FORMAT_VERSION = 1;
