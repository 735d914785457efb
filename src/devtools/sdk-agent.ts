/**
 * An http.Agent for pointing the official AWS SDK clients at a local OpenFront API.
 *
 * The KeyValueStore client prefixes the account id to the endpoint host (`123456789012.localhost:8787`), which
 * plain name resolution does not know. This agent connects every host name to one address (127.0.0.1 by default)
 * and keeps the Host header as the SDK wrote it, exactly what a wildcard DNS entry would do:
 *
 *   new CloudFrontKeyValueStoreClient({ endpoint: 'http://localhost:8787', requestHandler: { httpAgent: loopbackAgent() }, … })
 */
import { Agent } from 'node:http';

type LookupCallback = (err: Error | null, address: string | Array<{ address: string; family: number }>, family?: number) => void;

export function loopbackAgent(address = '127.0.0.1'): Agent {
  const family = address.includes(':') ? 6 : 4;
  return new Agent({
    keepAlive: true,
    lookup: ((_hostname: string, options: { all?: boolean }, callback: LookupCallback) => {
      if (options.all) callback(null, [{ address, family }]);
      else callback(null, address, family);
    }) as never,
  });
}
