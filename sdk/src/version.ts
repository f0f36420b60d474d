/** The SDK's name and version, sent in the worker's labels. */
export const SDK_NAME = "metronome-typescript";
export const SDK_VERSION = "0.1.0";
