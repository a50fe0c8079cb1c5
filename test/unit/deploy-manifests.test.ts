import { readdirSync, readFileSync } from "node:fs";
import { Deployment } from "kubernetes-models/apps/v1/Deployment";
import { PodDisruptionBudget } from "kubernetes-models/policy/v1/PodDisruptionBudget";
import { Service } from "kubernetes-models/v1/Service";
import { describe, expect, it } from "vitest";
import { parse, parseAllDocuments } from "yaml";
import { CONFIG_VARIABLES } from "../../src/config-variables.js";

/** deploy/kubernetes/, compose.yaml and .env.example against the Kubernetes API schemas and the relay's own variables. */
const ROOT = new URL("../../", import.meta.url);
const DIR = new URL("deploy/kubernetes/", ROOT);
const read = (path: string | URL) => readFileSync(new URL(path, ROOT), "utf8");

/** The schema (kubernetes-models: the Kubernetes OpenAPI schemas, validated with ajv) of each kind the manifests use. */
const MODELS: Record<string, new (data: any) => { validate(): void }> = {
  "apps/v1 Deployment": Deployment,
  "v1 Service": Service,
  "policy/v1 PodDisruptionBudget": PodDisruptionBudget,
};

/** What must come from a Secret, never from a plain value: every key, and the database URL (it holds a password). */
const SECRET_VARIABLES = [
  "DATABASE_URL",
  "RENDLEY_API_KEY",
  "RELAY_API_KEY",
  "RELAY_SIGNING_SECRET",
  "RELAY_ADMIN_KEY",
  "RELAY_ENCRYPTION_KEY",
  "RELAY_METRICS_TOKEN",
];

const documents = readdirSync(DIR)
  .filter((file) => /\.ya?ml$/.test(file))
  .flatMap((file) =>
    parseAllDocuments(readFileSync(new URL(file, DIR), "utf8")).map((doc) => {
      if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors[0]!.message}`);
      return { file, manifest: doc.toJS() as any };
    }),
  );
const byKind = (kind: string) => documents.filter((d) => d.manifest.kind === kind).map((d) => d.manifest);
const [deployment] = byKind("Deployment");
const pod = deployment.spec.template.spec;
const relay = pod.containers[0];
const env: { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } }[] = relay.env;
const isVariable = (name: string) => Object.hasOwn(CONFIG_VARIABLES, name);

describe("deploy/kubernetes", () => {
  it("holds a Deployment, a Service and a PodDisruptionBudget, each valid against the Kubernetes API schema", () => {
    expect(documents.map((d) => d.manifest.kind).sort()).toEqual(["Deployment", "PodDisruptionBudget", "Service"]);
    for (const { file, manifest } of documents) {
      const Model = MODELS[`${manifest.apiVersion} ${manifest.kind}`];
      expect(Model, `${file}: no schema for ${manifest.apiVersion} ${manifest.kind}`).toBeDefined();
      expect(() => new Model!(manifest).validate(), file).not.toThrow();
    }
  });

  it("the schemas do refuse a wrong manifest (the validation is not a no-op)", () => {
    const broken = structuredClone(deployment);
    broken.spec.replicas = "2";
    delete broken.spec.template.spec.containers[0].name;
    expect(() => new Deployment(broken).validate()).toThrow(/replicas must be integer|name/);
  });

  it("sets only variables the relay reads, and every key from a Secret", () => {
    expect(env.map((v) => v.name).filter((name) => !isVariable(name))).toEqual([]);
    const fromSecrets = env.filter((v) => v.valueFrom?.secretKeyRef).map((v) => v.name);
    expect(fromSecrets.sort()).toEqual([...SECRET_VARIABLES].sort());
    expect(env.filter((v) => v.value !== undefined && SECRET_VARIABLES.includes(v.name))).toEqual([]);
  });

  it("runs two replicas, ready on /readyz, alive on /healthz, on the port the relay listens on", () => {
    expect(deployment.spec.replicas).toBe(2);
    const port = relay.ports.find((p: { name: string }) => p.name === "http");
    expect(String(port.containerPort)).toBe(env.find((v) => v.name === "PORT")?.value);
    expect(relay.readinessProbe.httpGet).toEqual({ path: "/readyz", port: "http" });
    expect(relay.livenessProbe.httpGet).toEqual({ path: "/healthz", port: "http" });
    expect(deployment.spec.template.metadata.annotations).toEqual({
      "prometheus.io/scrape": "true",
      "prometheus.io/port": String(port.containerPort),
      "prometheus.io/path": "/metrics",
    });
  });

  it("leaves SIGTERM more than the relay's 10 s drain, and runs non-root on a read-only root filesystem", () => {
    expect(pod.terminationGracePeriodSeconds).toBeGreaterThan(10);
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000 });
    expect(read("Dockerfile")).toMatch(/^USER 1000:1000$/m);
    expect(relay.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false });
    expect(relay.resources.requests.memory).toBeDefined();
    expect(relay.resources.limits.memory).toBeDefined();
  });

  it("the Service and the PodDisruptionBudget select the Deployment's pods", () => {
    const labels = deployment.spec.template.metadata.labels;
    const [service] = byKind("Service");
    const [budget] = byKind("PodDisruptionBudget");
    expect(service.spec.selector).toEqual(labels);
    expect(deployment.spec.selector.matchLabels).toEqual(labels);
    expect(budget.spec.selector.matchLabels).toEqual(labels);
    expect(relay.ports.map((p: { name: string }) => p.name)).toContain(service.spec.ports[0].targetPort);
    expect(budget.spec.minAvailable).toBeLessThan(deployment.spec.replicas);
  });
});

describe("compose.yaml and .env.example", () => {
  // Compose resolves YAML merge keys (`<<: *relay`).
  const compose = parse(read("compose.yaml"), { merge: true });
  const relays = Object.entries(compose.services as Record<string, any>).filter(([name]) => name.startsWith("relay"));

  it("runs two relays on the Postgres service, restarted and health-checked", () => {
    expect(relays.map(([name]) => name)).toEqual(["relay-1", "relay-2"]);
    for (const [, service] of relays) {
      expect(service.environment.DATABASE_URL).toMatch(/^postgres:\/\/.*@postgres:5432\//);
      expect(service.restart).toBe("unless-stopped");
      expect(service.healthcheck.test.join(" ")).toContain("/readyz");
      expect(service.env_file).toBe(".env");
    }
    expect(compose.services.postgres.healthcheck).toBeDefined();
  });

  it("names only variables the relay reads (and the Postgres password)", () => {
    const names = relays.flatMap(([, service]) => Object.keys(service.environment));
    const example = [...read(".env.example").matchAll(/^([A-Z_]+)=/gm)].map((m) => m[1]!);
    expect(example).toContain("RENDLEY_API_KEY");
    expect([...names, ...example].filter((name) => !isVariable(name) && name !== "POSTGRES_PASSWORD")).toEqual([]);
  });
});
