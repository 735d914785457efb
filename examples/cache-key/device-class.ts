/** The device classes the cache keeps apart. */
export type DeviceClass = 'mobile' | 'tablet' | 'desktop';

// Order matters: iPad and Android tablets also say "Mobile"/"Android" in some versions.
const TABLET = /ipad|tablet|kindle|silk|playbook|android(?!.*mobile)/i;
const MOBILE = /mobi|iphone|ipod|android|blackberry|opera mini|iemobile|windows phone/i;
const BOT = /bot|crawler|spider|slurp/i;

/** Bots are served the desktop page (what search engines index). */
export function deviceClass(userAgent: string): DeviceClass {
  if (userAgent === '' || BOT.test(userAgent)) return 'desktop';
  if (TABLET.test(userAgent)) return 'tablet';
  if (MOBILE.test(userAgent)) return 'mobile';
  return 'desktop';
}

/** Not used by the handler: esbuild leaves it out of the bundle. */
export function isTouchDevice(userAgent: string): boolean {
  return deviceClass(userAgent) !== 'desktop';
}
