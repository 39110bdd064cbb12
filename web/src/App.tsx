import { type ReactNode, useState } from "react";
import { buttonClass, Loading } from "./components/ui";
import { useAuth } from "./lib/auth";
import { daysLeft } from "./lib/format";
import { Link, matchPath, usePath } from "./lib/router";
import { useTheme } from "./lib/theme";
import { ApiKeysPage } from "./pages/ApiKeysPage";
import { AuditPage } from "./pages/AuditPage";
import { BuilderPage } from "./pages/BuilderPage";
import { CredentialsPage } from "./pages/CredentialsPage";
import { ExecutionPage } from "./pages/ExecutionPage";
import { ExecutionsPage } from "./pages/ExecutionsPage";
import { SignInPage } from "./pages/SignInPage";
import { UsagePage } from "./pages/UsagePage";
import { WorkflowsPage } from "./pages/WorkflowsPage";

const NAV = [
  { to: "/", label: "Workflows" },
  { to: "/executions", label: "Runs" },
  { to: "/credentials", label: "Credentials" },
  { to: "/api-keys", label: "API keys" },
  { to: "/usage", label: "Usage" },
  { to: "/audit", label: "Audit" },
];

function route(path: string): { page: ReactNode; wide: boolean } {
  let params: Record<string, string> | null;
  if ((params = matchPath("/workflows/:id", path))) return { page: <BuilderPage key={params.id} workflowId={params.id === "new" ? null : params.id} />, wide: true };
  if ((params = matchPath("/executions/:id", path))) return { page: <ExecutionPage key={params.id} executionId={params.id} />, wide: true };
  if (matchPath("/executions", path)) return { page: <ExecutionsPage />, wide: false };
  if (matchPath("/credentials", path)) return { page: <CredentialsPage />, wide: false };
  if (matchPath("/api-keys", path)) return { page: <ApiKeysPage />, wide: false };
  if (matchPath("/usage", path)) return { page: <UsagePage />, wide: false };
  if (matchPath("/audit", path)) return { page: <AuditPage />, wide: false };
  if (matchPath("/", path)) return { page: <WorkflowsPage />, wide: false };
  return {
    page: (
      <p>
        Nothing here. <Link to="/" className="text-indigo-700 underline dark:text-indigo-300">Back to your workflows</Link>
      </p>
    ),
    wide: false,
  };
}

function ThemeToggle() {
  const [theme, toggle] = useTheme();
  return (
    <button type="button" className={buttonClass.ghost} onClick={toggle} aria-label={`Switch to ${theme === "dark" ? "light" : "dark"} theme`}>
      {theme === "dark" ? "☀ Light" : "☾ Dark"}
    </button>
  );
}

function GuestBanner() {
  const { me, clerkReady, signInWithClerk } = useAuth();
  if (me?.kind !== "guest") return null;
  const days = daysLeft(me.trial_expires_at);
  return (
    <div data-testid="guest-banner" role="status" className="border-b border-amber-300 bg-amber-100 px-4 py-2 text-sm text-amber-950 dark:border-amber-800 dark:bg-amber-950 dark:text-amber-50">
      <span className="font-medium">Guest trial:</span> {me.credits} credits left, {days} {days === 1 ? "day" : "days"} left.{" "}
      {clerkReady ? (
        <button type="button" className="font-medium underline" onClick={signInWithClerk}>
          Sign in to keep your work
        </button>
      ) : (
        "Sign in to keep your work."
      )}
    </div>
  );
}

function Header() {
  const { me, kind, signOut } = useAuth();
  const path = usePath();
  const [open, setOpen] = useState(false);
  const current = (to: string) => (to === "/" ? path === "/" || path.startsWith("/workflows") : path.startsWith(to));
  return (
    <header className="border-b border-gray-200 bg-white dark:border-gray-800 dark:bg-gray-900">
      <div className="mx-auto flex max-w-screen-2xl flex-wrap items-center gap-x-4 gap-y-2 px-4 py-2">
        <Link to="/" className="flex items-center gap-2 font-semibold">
          <img src="/favicon.svg" alt="" width={24} height={24} />
          Flow Builder
        </Link>
        <button
          type="button"
          className={`${buttonClass.ghost} ml-auto md:hidden`}
          aria-expanded={open}
          aria-controls="main-nav"
          onClick={() => setOpen(!open)}
        >
          Menu
        </button>
        <nav id="main-nav" aria-label="Main" className={`${open ? "flex" : "hidden"} w-full flex-col gap-1 md:flex md:w-auto md:flex-row md:items-center`}>
          {NAV.map((item) => (
            <Link
              key={item.to}
              to={item.to}
              onClick={() => setOpen(false)}
              aria-current={current(item.to) ? "page" : undefined}
              className={`rounded-md px-2 py-1 text-sm ${current(item.to) ? "bg-indigo-100 font-medium text-indigo-900 dark:bg-indigo-900 dark:text-indigo-50" : "text-gray-800 hover:bg-gray-100 dark:text-gray-200 dark:hover:bg-gray-800"}`}
            >
              {item.label}
            </Link>
          ))}
        </nav>
        <div className={`${open ? "flex" : "hidden"} w-full flex-wrap items-center gap-2 md:ml-auto md:flex md:w-auto`}>
          {me && (
            <span className="text-sm text-gray-700 dark:text-gray-300" data-testid="whoami">
              {me.email ?? (kind === "local" ? "Local user" : kind === "guest" ? "Guest" : "Signed in")} · <span data-testid="credits">{me.credits}</span> credits
            </span>
          )}
          <ThemeToggle />
          {kind !== "local" && (
            <button type="button" className={buttonClass.ghost} onClick={() => void signOut()}>
              Sign out
            </button>
          )}
        </div>
      </div>
    </header>
  );
}

export function App() {
  const { status } = useAuth();
  const path = usePath();
  if (status === "loading") return <main className="p-6"><Loading label="Starting" /></main>;
  if (status === "signed-out")
    return (
      <>
        <div className="flex justify-end p-2"><ThemeToggle /></div>
        <SignInPage />
      </>
    );
  const { page, wide } = route(path);
  return (
    <div className="flex min-h-screen flex-col">
      <a href="#main" className="sr-only focus:not-sr-only focus:absolute focus:left-2 focus:top-2 focus:z-50 focus:rounded focus:bg-white focus:px-3 focus:py-2 focus:text-gray-900">
        Skip to content
      </a>
      <Header />
      <GuestBanner />
      <main id="main" className={`mx-auto w-full flex-1 ${wide ? "max-w-screen-2xl px-2 py-3 sm:px-4" : "max-w-5xl px-4 py-6"}`}>
        {page}
      </main>
    </div>
  );
}
