// The part of ua-parser-js 1.x that enrichment reads. 1.x ships no type declarations (2.x
// does, but 2.x is AGPL), and @types/ua-parser-js describes 0.7, so the few fields we use are
// declared here rather than pulling in types for another version.
declare module 'ua-parser-js' {
  export interface IResult {
    ua: string;
    browser: { name?: string; version?: string; major?: string };
    os: { name?: string; version?: string };
    /** type is one of console, mobile, tablet, smarttv, wearable, embedded, xr; absent for desktops. */
    device: { vendor?: string; model?: string; type?: string };
  }

  export class UAParser {
    constructor(userAgent?: string);
    getResult(): IResult;
  }
}
