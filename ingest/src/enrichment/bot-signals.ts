// isbot is Unlicense (public domain): no attribution or copyleft duty. Its pattern list is
// maintained upstream against real crawler traffic, so we add to it rather than fork it.
import { isbot } from 'isbot';

/**
 * Browsers driven by a tool, which run our script like a person's browser would. isbot knows
 * most of these today; listing them here keeps them flagged if an upstream list change drops
 * one. Electron is deliberately absent: desktop apps (Slack, Discord, VS Code, Notion…) embed
 * it and show real people our pages, so flagging it would hide them.
 */
const automationMarkers = /headlesschrome|phantomjs|slimerjs|lighthouse|gtmetrix|\bptst\//i;

/**
 * Tokens of in-app browsers used by people that an isbot pattern matches by accident, removed
 * before asking isbot. The Apple News reader ("AppleNews/608.0.1") trips the generic "news"
 * pattern; its crawler calls itself AppleNewsBot and is still flagged.
 */
const humanAppTokens = / AppleNews\/[\d.]+/g;

/** What the User-Agent string alone says about automation; the result is cached per string. */
export function userAgentLooksAutomated(userAgent: string): boolean {
  // No browser sends an empty User-Agent; HTTP libraries and scripts do.
  if (userAgent.trim() === '') return true;
  if (automationMarkers.test(userAgent)) return true;
  return isbot(userAgent.replace(humanAppTokens, ''));
}

/**
 * Header evidence, used only together with a User-Agent that names no browser: every browser
 * sends Accept-Language on page loads, fetch and beacons, while HTTP clients mostly don't.
 * Alone, a missing header proves little (a server SDK may forward events without it), and a
 * false positive hides a real visitor, so it never flags a recognised browser.
 * Header names are expected in lower case, as Node delivers them.
 */
export function headersLookAutomated(
  headers: Record<string, string | undefined>,
  userAgentNamesBrowser: boolean,
): boolean {
  if (userAgentNamesBrowser) return false;
  return (headers['accept-language'] ?? '').trim() === '';
}
