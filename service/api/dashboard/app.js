// The dashboard's router: one view at a time, chosen by the location hash.
import { token } from "./api.js";
import { renderRuns } from "./runs.js";
import { renderEditor } from "./editor.js";
import { renderRun } from "./live.js";
import { renderLineage } from "./lineage.js";
import { renderCompareRuns, renderStudy } from "./compare.js";

const ROUTES = [
  [/^#\/new$/, (view) => renderEditor(view)],
  [/^#\/run\/([^/]+)$/, (view, [id]) => renderRun(view, id)],
  [/^#\/lineage\/([^/]+)\/([^/]+)$/, (view, [id, message]) => renderLineage(view, id, message)],
  [/^#\/compare\/(.+)$/, (view, [ids]) => renderCompareRuns(view, ids.split(","))],
  [/^#\/study\/([^/]+)$/, (view, [id]) => renderStudy(view, id)],
  [/^/, (view) => renderRuns(view)],
];

let cleanup = null;

async function route() {
  if (typeof cleanup === "function") cleanup();
  const view = document.getElementById("view");
  view.replaceChildren();
  const hash = location.hash || "#/";
  const [pattern, render] = ROUTES.find(([regex]) => regex.test(hash));
  const parts = hash.match(pattern).slice(1).map((part) => decodeURIComponent(part));
  cleanup = await render(view, parts);
}

function showLogin() {
  const state = document.getElementById("login-state");
  state.textContent = token.get() ? "signed in (this tab)" : "";
}

document.getElementById("login").addEventListener("submit", (event) => {
  event.preventDefault();
  token.set(document.getElementById("token").value.trim());
  document.getElementById("token").value = "";
  showLogin();
  route();
});
window.addEventListener("driftlab:unauthorized", () => {
  const state = document.getElementById("login-state");
  state.textContent = "this server needs a token: enter it to sign in";
  state.className = "error";
  document.getElementById("token").focus();
});
window.addEventListener("hashchange", route);
showLogin();
route();
