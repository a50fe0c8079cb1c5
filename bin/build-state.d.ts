/** True when `<root>/dist` holds a build and no file in `<root>/src` is newer than the newest file in it. */
export declare function distIsCurrent(root: string): boolean;
