/// <reference path="../../types/cloudfront.d.ts" />
// Cache-key shaping (TypeScript; built with `openfront build examples/cache-key/function.ts`, output function.js).
// - Tracking parameters (utm_*, fbclid, gclid, msclkid, …) never reach the cache key or the origin, so one page
//   is cached once, not once per campaign link.
// - The User-Agent (thousands of values) is reduced to a device class (3 values) in `x-device-class`, the only
//   header the cache policy keys on.
import type { CloudFrontRequest, ValueMap, ViewerRequestEvent } from 'cloudfront';
import { deviceClass } from './device-class.js';

const TRACKING_PARAMS = ['fbclid', 'gclid', 'dclid', 'msclkid', 'mc_cid', 'mc_eid', '_ga', '_gl', 'yclid'];

export function handler(event: ViewerRequestEvent): CloudFrontRequest {
  const request = event.request;
  request.querystring = withoutTracking(request.querystring as ValueMap);
  const userAgent = request.headers['user-agent'];
  request.headers['x-device-class'] = { value: deviceClass(userAgent ? userAgent.value : '') };
  if (request.uri.endsWith('/')) request.uri += 'index.html';
  return request;
}

function withoutTracking(query: ValueMap): ValueMap {
  const kept: ValueMap = {};
  Object.keys(query).forEach((name) => {
    const lower = name.toLowerCase();
    if (lower.startsWith('utm_') || TRACKING_PARAMS.indexOf(lower) !== -1) return;
    kept[name] = query[name];
  });
  return kept;
}
