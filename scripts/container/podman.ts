import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";

/** `podman run` flags this kind of machine needs (../shared/tools/node-base-image.sh prints them). */
export const RUN_FLAGS = ["--ulimit", "nofile=20000:20000", "--ulimit", "nproc=4096:4096"];

/** Runs a command; resolves with its output, rejects with its stderr when it exits non-zero (unless `allowFail`). */
export function run(
  cmd: string,
  args: readonly string[],
  options: { allowFail?: boolean; timeoutMs?: number } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { maxBuffer: 64 * 1024 * 1024, timeout: options.timeoutMs ?? 0 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === "number" ? err.code : 1) : 0;
      if (err && !options.allowFail) {
        // A build prints its steps' output on stdout and the failing step on stderr: show the end of both.
        const output = `${stdout.slice(-3000)}\n${stderr.slice(-3000)}`.trim();
        reject(new Error(`${cmd} ${args.join(" ")} failed (${err.code ?? err.message}):\n${output}`));
        return;
      }
      resolve({ code, stdout, stderr });
    });
  });
}

export const podman = (args: readonly string[], options?: { allowFail?: boolean; timeoutMs?: number }) =>
  run("podman", args, options);

/** `podman image inspect` fields of one image, or undefined when it does not exist. */
export async function imageInfo(ref: string): Promise<{ id: string; size: number; layers: string[] } | undefined> {
  const { code, stdout } = await podman(["image", "inspect", ref], { allowFail: true });
  if (code !== 0) return undefined;
  const [info] = JSON.parse(stdout) as { Id: string; Size: number; RootFS?: { Layers?: string[] } }[];
  return info && { id: info.Id, size: info.Size, layers: info.RootFS?.Layers ?? [] };
}

/** The history entries of `image` above those of `base` (newest first): what the Dockerfile's final stage added. */
export async function layersAbove(image: string, base: string): Promise<{ size: number; createdBy: string }[]> {
  const history = async (ref: string) =>
    (JSON.parse((await podman(["history", "--format", "json", ref])).stdout) as { size: number; CreatedBy: string }[]).map(
      (h) => ({ size: h.size, createdBy: h.CreatedBy }),
    );
  const [mine, theirs] = await Promise.all([history(image), history(base)]);
  return mine.slice(0, Math.max(0, mine.length - theirs.length));
}

export interface ContainerExit {
  code: number;
  ms: number;
}

/** A running container, removed (with its anonymous volumes) by `remove`. */
export interface Container {
  readonly name: string;
  /** Sends a signal and waits for the exit: its code and how long it took. */
  signal(signal: "TERM" | "KILL", timeoutMs: number): Promise<ContainerExit>;
  /** Host pid of the container's PID 1. */
  pid(): Promise<number>;
  logs(tail?: number): Promise<string>;
  remove(): Promise<void>;
}

export async function runContainer(options: {
  name: string;
  image: string;
  envFile: string;
  volume?: string;
  readOnly?: boolean;
  /** A memory limit, e.g. "512m" (the Kubernetes manifest's). */
  memory?: string;
}): Promise<Container> {
  const args = ["run", "-d", "--name", options.name, "--network", "host", ...RUN_FLAGS, "--env-file", options.envFile];
  if (options.volume) args.push("-v", `${options.volume}:/data`);
  // Kubernetes' readOnlyRootFilesystem, which ignores the image's VOLUME: no writable /tmp or /data either
  // (podman would add tmpfs mounts and an anonymous volume by default).
  if (options.readOnly) args.push("--read-only", "--read-only-tmpfs=false", "--image-volume=ignore");
  if (options.memory) args.push("--memory", options.memory);
  await podman([...args, options.image]);
  const name = options.name;
  let removed = false;
  return {
    name,
    async signal(signal, timeoutMs) {
      const started = performance.now();
      const waiting = podman(["wait", name], { timeoutMs });
      await podman(["kill", "--signal", signal, name]);
      const { stdout } = await waiting;
      return { code: Number(stdout.trim()), ms: Math.round(performance.now() - started) };
    },
    async pid() {
      return Number((await podman(["inspect", "--format", "{{.State.Pid}}", name])).stdout.trim());
    },
    async logs(tail = 40) {
      if (removed) return "(removed)";
      const { stdout, stderr } = await podman(["logs", "--tail", String(tail), name], { allowFail: true });
      return `${stdout}${stderr}`;
    },
    async remove() {
      removed = true;
      await podman(["rm", "-f", "-v", "-t", "0", name], { allowFail: true });
    },
  };
}

/** What runs as the container's PID 1 and its child (host /proc): command lines, uids, the child's resident memory. */
export function processTree(pid1: number): { pid1: ProcInfo; child: ProcInfo | undefined } {
  const children = readFileSync(`/proc/${pid1}/task/${pid1}/children`, "utf8").trim().split(/\s+/).filter(Boolean);
  const first = children[0];
  return { pid1: procInfo(pid1), child: first === undefined ? undefined : procInfo(Number(first)) };
}

export interface ProcInfo {
  pid: number;
  cmdline: string;
  uid: number;
  rssBytes: number;
}

function procInfo(pid: number): ProcInfo {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const uid = Number(/^Uid:\s+(\d+)/m.exec(status)?.[1] ?? NaN);
  const rss = Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? 0) * 1024;
  const cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean).join(" ");
  return { pid, cmdline, uid, rssBytes: rss };
}
