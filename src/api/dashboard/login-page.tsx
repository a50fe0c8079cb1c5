import { Layout } from "./layout.js";

/** The login form: the relay API key (the same keys /v1 accepts), plus the form's anti-forgery nonce. */
export function LoginPage(props: { nonce: string; error?: string | undefined }) {
  return (
    <Layout title="Log in">
      <div class="login card">
        <h1>Log in</h1>
        <p class="muted">Enter a relay API key. The dashboard shows the watches of the key's tenant only.</p>
        {props.error ? (
          <div class="error" role="alert">
            {props.error}
          </div>
        ) : null}
        <form method="post" action="/dashboard/login">
          <input type="hidden" name="csrf" value={props.nonce} />
          <div class="field">
            <label for="key">API key</label>
            <input
              id="key"
              type="password"
              name="key"
              autocomplete="current-password"
              required
              maxlength={512}
              autofocus
              placeholder="rrk_…"
            />
          </div>
          <button type="submit">Log in</button>
        </form>
      </div>
    </Layout>
  );
}

/** A page for refusals (bad link, unknown watch, expired form). */
export function MessagePage(props: { title: string; message: string; csrf?: string | undefined }) {
  return (
    <Layout title={props.title} csrf={props.csrf}>
      <h1>{props.title}</h1>
      <div class="error" role="alert">
        {props.message}
      </div>
      <p>
        <a href="/dashboard">Back to the dashboard</a>
      </p>
    </Layout>
  );
}
