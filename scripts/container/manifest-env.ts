import { readFileSync } from "node:fs";
import { parse } from "yaml";

/** One `env` entry of the relay container in deploy/kubernetes/deployment.yaml. */
export type ManifestEnvVar =
  { name: string; value: string } | { name: string; secret: { name: string; key: string; optional: boolean } };

interface EnvEntry {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef?: { name: string; key: string; optional?: boolean } };
}

/**
 * The environment the Kubernetes Deployment gives the relay: plain values and Secret references, in order.
 * The container test runs the image with these names (test values for the secrets), so that what the
 * manifests set is what was run.
 */
export function deploymentEnv(path: string): ManifestEnvVar[] {
  return relayContainer(path).env.map((entry): ManifestEnvVar => {
    const ref = entry.valueFrom?.secretKeyRef;
    if (ref) return { name: entry.name, secret: { name: ref.name, key: ref.key, optional: ref.optional ?? false } };
    if (typeof entry.value !== "string")
      throw new Error(`${path}: env ${entry.name} has neither a string value nor a secretKeyRef`);
    return { name: entry.name, value: entry.value };
  });
}

const UNITS: Record<string, number> = { "": 1, Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, k: 1e3, M: 1e6, G: 1e9 };

/** The relay container's memory limit in bytes (`resources.limits.memory`, e.g. `512Mi`). */
export function deploymentMemoryLimit(path: string): number {
  const limit = relayContainer(path).resources?.limits?.memory;
  const m = /^(\d+)(Ki|Mi|Gi|k|M|G)?$/.exec(limit ?? "");
  if (!m) throw new Error(`${path}: no memory limit in a unit this reads (${limit})`);
  return Number(m[1]) * UNITS[m[2] ?? ""]!;
}

interface ContainerSpec {
  name: string;
  env: EnvEntry[];
  resources?: { limits?: { memory?: string } };
}

function relayContainer(path: string): ContainerSpec {
  const doc = parse(readFileSync(path, "utf8")) as {
    kind?: string;
    spec?: { template?: { spec?: { containers?: ContainerSpec[] } } };
  };
  const container = doc.spec?.template?.spec?.containers?.[0];
  if (doc.kind !== "Deployment" || !container) throw new Error(`${path}: not a Deployment with a container`);
  return { ...container, env: container.env ?? [] };
}
