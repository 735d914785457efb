// Built by `openfront build` from function.ts: edit the source, not this file.
// device-class.ts
var TABLET = /ipad|tablet|kindle|silk|playbook|android(?!.*mobile)/i;
var MOBILE = /mobi|iphone|ipod|android|blackberry|opera mini|iemobile|windows phone/i;
var BOT = /bot|crawler|spider|slurp/i;
function deviceClass(userAgent) {
  if (userAgent === "" || BOT.test(userAgent)) return "desktop";
  if (TABLET.test(userAgent)) return "tablet";
  if (MOBILE.test(userAgent)) return "mobile";
  return "desktop";
}

// function.ts
var TRACKING_PARAMS = ["fbclid", "gclid", "dclid", "msclkid", "mc_cid", "mc_eid", "_ga", "_gl", "yclid"];
function handler(event) {
  const request = event.request;
  request.querystring = withoutTracking(request.querystring);
  const userAgent = request.headers["user-agent"];
  request.headers["x-device-class"] = { value: deviceClass(userAgent ? userAgent.value : "") };
  if (request.uri.endsWith("/")) request.uri += "index.html";
  return request;
}
function withoutTracking(query) {
  const kept = {};
  Object.keys(query).forEach((name) => {
    const lower = name.toLowerCase();
    if (lower.startsWith("utm_") || TRACKING_PARAMS.indexOf(lower) !== -1) return;
    kept[name] = query[name];
  });
  return kept;
}
