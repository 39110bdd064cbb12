/** Runtime configuration from `/config.json`: written by the CDK stack in aws mode, served by the
 * API in local mode (with the dev key, to loopback clients only). */

export interface RuntimeConfig {
  apiBase: string;
  mode: string;
  clerkPublishableKey: string | null;
  /** Where Clerk's browser SDK loads from; by default derived from the publishable key. */
  clerkScriptUrl: string | null;
  localApiKey: string | null;
}

export const DEFAULT_CONFIG: RuntimeConfig = {
  apiBase: "/api",
  mode: "aws",
  clerkPublishableKey: null,
  clerkScriptUrl: null,
  localApiKey: null,
};

export async function loadConfig(): Promise<RuntimeConfig> {
  try {
    const response = await fetch("/config.json", { cache: "no-store" });
    if (!response.ok) return DEFAULT_CONFIG;
    return { ...DEFAULT_CONFIG, ...((await response.json()) as Partial<RuntimeConfig>) };
  } catch {
    return DEFAULT_CONFIG;
  }
}

/** A publishable key is `pk_(test|live)_<base64 of "<frontend api host>$">`. */
export function clerkFrontendApi(publishableKey: string): string | null {
  const encoded = publishableKey.split("_")[2];
  if (!encoded) return null;
  try {
    return atob(encoded).replace(/\$$/, "") || null;
  } catch {
    return null;
  }
}

export function clerkScriptUrl(config: RuntimeConfig): string | null {
  if (config.clerkScriptUrl) return config.clerkScriptUrl;
  const host = config.clerkPublishableKey ? clerkFrontendApi(config.clerkPublishableKey) : null;
  return host ? `https://${host}/npm/@clerk/clerk-js@5/dist/clerk.browser.js` : null;
}
