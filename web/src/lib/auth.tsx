/** Who is signed in. In order: a Clerk session (when a publishable key is configured), a guest
 * token or API key the user chose earlier (kept in localStorage), the dev key in local mode. */
import { createContext, type ReactNode, useCallback, useContext, useEffect, useMemo, useRef, useState } from "react";
import { api, ApiError, configureApi } from "./api";
import { clerkScriptUrl, type RuntimeConfig } from "./config";
import type { Me } from "./types";

interface ClerkSession {
  getToken(): Promise<string | null>;
}

/** The part of Clerk's browser SDK (`window.Clerk`) the app uses. */
export interface ClerkLike {
  load(options?: Record<string, unknown>): Promise<void>;
  session: ClerkSession | null | undefined;
  openSignIn(options?: Record<string, unknown>): void;
  signOut(): Promise<void>;
  addListener(listener: (resources: { session?: ClerkSession | null }) => void): () => void;
}

declare global {
  interface Window {
    Clerk?: ClerkLike;
  }
}

export type SessionKind = "clerk" | "guest" | "key" | "local";

interface StoredSession {
  kind: "guest" | "key";
  token: string;
}

interface AuthState {
  config: RuntimeConfig;
  status: "loading" | "signed-out" | "signed-in";
  kind: SessionKind | null;
  me: Me | null;
  notice: string | null;
  clerkReady: boolean;
  refreshMe(): Promise<void>;
  startGuest(): Promise<void>;
  signInWithKey(key: string): Promise<void>;
  signInWithClerk(): void;
  signOut(): Promise<void>;
}

const STORAGE_KEY = "fb.session";
const AuthContext = createContext<AuthState | null>(null);

function readStored(): StoredSession | null {
  try {
    const value = JSON.parse(localStorage.getItem(STORAGE_KEY) ?? "null") as StoredSession | null;
    return value && typeof value.token === "string" ? value : null;
  } catch {
    return null;
  }
}

function loadScript(src: string, publishableKey: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const script = document.createElement("script");
    script.src = src;
    script.async = true;
    script.crossOrigin = "anonymous";
    script.setAttribute("data-clerk-publishable-key", publishableKey);
    script.onload = () => resolve();
    script.onerror = () => reject(new Error("Clerk's sign-in script did not load"));
    document.head.appendChild(script);
  });
}

export function AuthProvider({ config, children }: { config: RuntimeConfig; children: ReactNode }) {
  const [status, setStatus] = useState<AuthState["status"]>("loading");
  const [kind, setKind] = useState<SessionKind | null>(null);
  const [me, setMe] = useState<Me | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [clerkReady, setClerkReady] = useState(false);
  const token = useRef<{ kind: SessionKind; value: string | null } | null>(null);

  const signedOut = useCallback((message: string | null) => {
    token.current = null;
    setKind(null);
    setMe(null);
    setNotice(message);
    setStatus("signed-out");
  }, []);

  useEffect(() => {
    configureApi(config.apiBase, async () => {
      const current = token.current;
      if (!current) return null;
      if (current.kind === "clerk") return (await window.Clerk?.session?.getToken()) ?? null;
      return current.value;
    });
  }, [config.apiBase]);

  const enter = useCallback(
    async (next: SessionKind, value: string | null) => {
      token.current = { kind: next, value };
      try {
        const who = await api<Me>("/me");
        setMe(who);
        setKind(next);
        setNotice(null);
        setStatus("signed-in");
        return true;
      } catch (error) {
        if (next === "guest" || next === "key") localStorage.removeItem(STORAGE_KEY);
        const reason = error instanceof ApiError ? error.message : "the API did not answer";
        signedOut(`Could not sign in: ${reason}`);
        return false;
      }
    },
    [signedOut],
  );

  /** A guest who signs in with Clerk keeps their work. */
  const claimGuestWork = useCallback(async () => {
    const stored = readStored();
    if (stored?.kind !== "guest") return;
    try {
      await api("/auth/claim-guest", { method: "POST", body: { guest_token: stored.token } });
    } catch {
      /* an expired or already claimed guest has nothing to move */
    }
    localStorage.removeItem(STORAGE_KEY);
  }, []);

  useEffect(() => {
    let cancelled = false;
    (async () => {
      const script = config.clerkPublishableKey ? clerkScriptUrl(config) : null;
      if (script && config.clerkPublishableKey) {
        try {
          await loadScript(script, config.clerkPublishableKey);
          await window.Clerk!.load();
          if (cancelled) return;
          setClerkReady(true);
          window.Clerk!.addListener(({ session }) => {
            if (session && token.current?.kind !== "clerk") void enter("clerk", null).then(claimGuestWork);
          });
          if (window.Clerk!.session) {
            await enter("clerk", null);
            await claimGuestWork();
            return;
          }
        } catch (error) {
          setNotice(error instanceof Error ? error.message : String(error));
        }
      }
      const stored = readStored();
      if (stored && (await enter(stored.kind, stored.token))) return;
      if (config.localApiKey) {
        await enter("local", config.localApiKey);
        return;
      }
      if (!cancelled) setStatus((current) => (current === "loading" ? "signed-out" : current));
    })();
    return () => {
      cancelled = true;
    };
  }, [config, enter, claimGuestWork]);

  const value = useMemo<AuthState>(
    () => ({
      config,
      status,
      kind,
      me,
      notice,
      clerkReady,
      async refreshMe() {
        if (token.current) setMe(await api<Me>("/me"));
      },
      async startGuest() {
        try {
          const trial = await api<{ token: string }>("/auth/guest", { method: "POST", anonymous: true });
          localStorage.setItem(STORAGE_KEY, JSON.stringify({ kind: "guest", token: trial.token }));
          await enter("guest", trial.token);
        } catch (error) {
          setNotice(error instanceof Error ? error.message : String(error));
        }
      },
      async signInWithKey(key: string) {
        localStorage.setItem(STORAGE_KEY, JSON.stringify({ kind: "key", token: key.trim() }));
        await enter("key", key.trim());
      },
      signInWithClerk() {
        window.Clerk?.openSignIn();
      },
      async signOut() {
        if (token.current?.kind === "clerk") await window.Clerk?.signOut();
        localStorage.removeItem(STORAGE_KEY);
        signedOut(null);
      },
    }),
    [config, status, kind, me, notice, clerkReady, enter, signedOut],
  );
  return <AuthContext.Provider value={value}>{children}</AuthContext.Provider>;
}

export function useAuth(): AuthState {
  const state = useContext(AuthContext);
  if (!state) throw new Error("useAuth outside AuthProvider");
  return state;
}
