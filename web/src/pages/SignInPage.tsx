import { type FormEvent, useState } from "react";
import { buttonClass, Card, ErrorNote, inputClass, mutedText } from "../components/ui";
import { useAuth } from "../lib/auth";

export function SignInPage() {
  const { notice, clerkReady, signInWithClerk, startGuest, signInWithKey } = useAuth();
  const [key, setKey] = useState("");
  const [busy, setBusy] = useState(false);
  const submitKey = async (event: FormEvent) => {
    event.preventDefault();
    if (key.trim()) await signInWithKey(key);
  };
  return (
    <main id="main" className="mx-auto max-w-md px-4 py-10">
      <h1 className="mb-2 text-2xl font-semibold">Flow Builder</h1>
      <p className={`mb-6 ${mutedText}`}>Build workflows from nodes, run them by hand, on a schedule or by webhook, and watch every step.</p>
      <div className="space-y-4">
        <ErrorNote>{notice}</ErrorNote>
        {clerkReady && (
          <Card>
            <h2 className="mb-2 font-medium">Your account</h2>
            <button type="button" className={buttonClass.primary} onClick={signInWithClerk}>
              Sign in
            </button>
          </Card>
        )}
        <Card>
          <h2 className="mb-1 font-medium">No account yet?</h2>
          <p className={`mb-3 text-sm ${mutedText}`}>A guest trial lasts a few days with free credits. Sign in later to keep your workflows.</p>
          <button
            type="button"
            className={clerkReady ? buttonClass.secondary : buttonClass.primary}
            disabled={busy}
            onClick={async () => {
              setBusy(true);
              await startGuest();
              setBusy(false);
            }}
          >
            Try as guest
          </button>
        </Card>
        <Card>
          <form onSubmit={submitKey} className="space-y-2">
            <h2 className="font-medium">Use an API key</h2>
            <label htmlFor="api-key" className={`block text-sm ${mutedText}`}>API key</label>
            <input id="api-key" type="password" autoComplete="off" className={inputClass} value={key} onChange={(e) => setKey(e.target.value)} />
            <button type="submit" className={buttonClass.secondary}>Continue</button>
          </form>
        </Card>
      </div>
    </main>
  );
}
