/**
 * Who the client is, by address, for the per-address limits: the connection's own address, or,
 * where that is a proxy TRUST_PROXY names, the address that proxy saw (X-Forwarded-For, read
 * from the right, past every trusted hop). Fastify's `request.ip` and the hub's stream caps
 * both use it, so the two never disagree.
 */
import { BlockList, isIP } from "node:net";

export type TrustProxy = (address: string) => boolean;

/** `true` trusts every hop; otherwise addresses, CIDR ranges and `loopback`, comma-separated. */
export function trustedProxies(setting: boolean | string | undefined): TrustProxy {
  if (setting === true) return () => true;
  if (!setting) return () => false;
  const list = new BlockList();
  for (const raw of setting.split(",")) {
    const entry = raw.trim();
    if (entry === "") continue;
    if (entry === "loopback") {
      list.addSubnet("127.0.0.0", 8, "ipv4");
      list.addAddress("::1", "ipv6");
      continue;
    }
    const [address = "", bits] = entry.split("/");
    const family = isIP(address);
    if (family === 0 || (bits !== undefined && !/^\d+$/.test(bits))) {
      throw new Error(
        `TRUST_PROXY must list addresses or CIDR ranges (or "loopback", or "true"), not "${entry}"`,
      );
    }
    const type = family === 4 ? "ipv4" : "ipv6";
    if (bits === undefined) list.addAddress(address, type);
    else list.addSubnet(address, Number(bits), type);
  }
  return (address) => {
    const plain = address.startsWith("::ffff:") ? address.slice(7) : address;
    const family = isIP(plain);
    return family !== 0 && list.check(plain, family === 4 ? "ipv4" : "ipv6");
  };
}

/** The client's address, given the connection's and its X-Forwarded-For. */
export function clientAddress(
  trusted: TrustProxy,
  remoteAddress: string | undefined,
  forwardedFor: string | undefined,
): string {
  let address = remoteAddress ?? "unknown";
  if (!forwardedFor) return address;
  const hops = forwardedFor.split(",").map((hop) => hop.trim());
  while (trusted(address) && hops.length > 0) address = hops.pop() as string;
  return address;
}
