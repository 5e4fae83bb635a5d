import { blogWords, type CustomEventRule, customEventRules, type PageKind, staticPages } from './catalog.js';
import { createRandom, type Random, type WeightedPick, weightedPick, zipfWeights } from './random.js';

export interface Product {
  sku: string;
  /** Price in EUR with two decimals. */
  price: number;
}

export interface Page {
  url: string;
  kind: PageKind;
  /** Set on product pages. */
  product: Product | null;
  /** The custom events that may follow a pageview here. */
  rules: readonly CustomEventRule[];
}

export interface SiteModel {
  id: string;
  pages: readonly Page[];
  pickPage: WeightedPick<Page>;
  products: readonly Product[];
  /** Expected custom events after one human pageview, given the page mix. */
  customEventsPerPageview: number;
}

const BLOG_POSTS = 8;
const PRODUCTS = 10;
/** Skew of page popularity: the home page leads, a long tail of posts and products follows. */
const PAGE_ZIPF_EXPONENT = 1;

/**
 * Builds a site's pages from its own random source (seed and site id), so a site's pages do not
 * change when other sites are added to or removed from the options.
 */
export function buildSiteModel(id: string, hostname: string, seed: number): SiteModel {
  const random = createRandom(seed ^ hashString(id));
  const origin = `https://${hostname}`;

  const products: Product[] = [];
  const skus = new Set<number>();
  while (products.length < PRODUCTS) {
    const number = random.int(1, 99);
    if (skus.has(number)) continue;
    skus.add(number);
    products.push({ sku: `sku-${number}`, price: random.int(499, 19_999) / 100 });
  }

  const slugs = new Set<string>();
  while (slugs.size < BLOG_POSTS) {
    slugs.add(
      `${random.pick(blogWords.first)}-${random.pick(blogWords.second)}-${random.pick(blogWords.third)}`,
    );
  }

  const others: Omit<Page, 'rules'>[] = [
    ...staticPages.map(([path, kind]) => ({ url: origin + path, kind, product: null })),
    ...[...slugs].map((slug) => ({ url: `${origin}/blog/${slug}`, kind: 'content' as const, product: null })),
    ...products.map((product) => ({
      url: `${origin}/products/${product.sku}`,
      kind: 'product' as const,
      product,
    })),
  ];
  shuffle(others, random);
  const home: Omit<Page, 'rules'> = { url: `${origin}/`, kind: 'home', product: null };
  const pages: Page[] = [home, ...others].map((page) => ({
    ...page,
    rules: customEventRules.filter((rule) => rule.pageKinds === 'any' || rule.pageKinds.includes(page.kind)),
  }));

  const weights = zipfWeights(pages.length, PAGE_ZIPF_EXPONENT);
  const totalWeight = weights.reduce((sum, weight) => sum + weight, 0);
  let customEventsPerPageview = 0;
  pages.forEach((page, index) => {
    const perPageview = page.rules.reduce((sum, rule) => sum + rule.probability, 0);
    customEventsPerPageview += (weights[index]! / totalWeight) * perPageview;
  });

  return { id, pages, pickPage: weightedPick(pages, weights), products, customEventsPerPageview };
}

function shuffle<T>(items: T[], random: Random): void {
  for (let i = items.length - 1; i > 0; i--) {
    const j = random.int(0, i);
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
}

/** FNV-1a: a stable 32-bit number from a site id. */
function hashString(value: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < value.length; i++) hash = Math.imul(hash ^ value.charCodeAt(i), 0x01000193);
  return hash >>> 0;
}
