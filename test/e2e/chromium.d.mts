/** Debian's Chromium, which the end-to-end tests and the timeline benchmark drive. */
export declare const CHROMIUM: string
/** Headless, with no network services, updates, sync or first-run page. */
export declare const CHROMIUM_ARGS: string[]
