/**
 * Where the key is kept: sessionStorage (gone with the tab) unless the reader asks to stay signed
 * in (localStorage). A shared link carries a read key in its fragment (`/#key=sl_…`), which the
 * browser never sends to a server; it is moved into sessionStorage and cut from the address.
 */
const NAME = 'sightline.key';

export function readKey(): string | undefined {
  const fragment = new URLSearchParams(location.hash.slice(1)).get('key');
  if (fragment) {
    sessionStorage.setItem(NAME, fragment);
    history.replaceState(null, '', `${location.pathname}${location.search}`);
    return fragment;
  }
  return sessionStorage.getItem(NAME) ?? localStorage.getItem(NAME) ?? undefined;
}

export function keepKey(key: string, remember: boolean): void {
  sessionStorage.setItem(NAME, key);
  if (remember) localStorage.setItem(NAME, key);
}

export function forgetKey(): void {
  sessionStorage.removeItem(NAME);
  localStorage.removeItem(NAME);
}
