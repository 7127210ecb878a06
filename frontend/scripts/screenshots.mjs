// Screenshots of the web app against a real local stack: `node scripts/screenshots.mjs [out-dir]`
// (from frontend/, after `make frontend`; default out-dir ../docs/screenshots).
//
// Starts a LocalStack (embedded PostgreSQL, Redis, the gateway serving frontend/dist, STT and MT on
// the real models), signs a listener ("Bruno") up through the UI in headless Debian Chromium, creates
// a room, shoots the lobby, lets a speaker ("Ana", a second account) join and stream the bundled
// English clip over the audio socket, and shoots the room page with Spanish captions.
//
// Media: the gateway's join answer has no Janus details yet, so the room page shows the local
// camera (Chromium's fake device) and a name tile for the speaker, not Janus video.
// Network: everything is on 127.0.0.1; Chromium runs with the flags that keep it off the network.
import { spawn } from "node:child_process";
import { mkdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import readline from "node:readline";

import { chromium } from "playwright-core";

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, "..", "..");
const outDir = path.resolve(process.argv[2] ?? path.join(repo, "docs", "screenshots"));
const python = process.env.PYTHON ?? path.join(repo, ".venv", "bin", "python");
const chromiumPath = process.env.CHROMIUM ?? "/usr/bin/chromium";
const clipSeconds = Number(process.env.CLIP_SECONDS ?? 40);
const CHROMIUM_FLAGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--use-fake-ui-for-media-stream",
  "--use-fake-device-for-media-stream",
];

const STACK = `
import sys
from pathlib import Path
from babelroom.devstack import LocalStack
with LocalStack(state_dir=Path(sys.argv[1])) as stack:
    print("GATEWAY", stack.gateway_url, flush=True)
    sys.stdin.read()  # until the parent closes stdin
`;

const SPEAKER = `
import asyncio, sys
from babelroom.audio.pcm import decode_file
from babelroom.client import SpeakerRun, stream_speaker
url, token, participant, seconds = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
audio = decode_file(sys.argv[5])[: int(16000 * seconds)]
asyncio.run(stream_speaker(url, SpeakerRun(participant), token=token, name="Ana", language="en", audio=audio))
`;

function log(...args) {
  console.log(`[${new Date().toISOString().slice(11, 19)}]`, ...args);
}

function startStack() {
  const stateDir = path.join(repo, ".state", "screenshots");
  const child = spawn(python, ["-c", STACK, stateDir], { cwd: repo, stdio: ["pipe", "pipe", "inherit"] });
  return new Promise((resolve, reject) => {
    const lines = readline.createInterface({ input: child.stdout });
    lines.on("line", (line) => {
      if (line.startsWith("GATEWAY ")) resolve({ child, url: line.split(" ")[1] });
    });
    child.on("exit", (code) => reject(new Error(`the local stack exited with ${code}`)));
  });
}

async function api(base, method, route, body, token) {
  const response = await fetch(`${base}${route}`, {
    method,
    headers: { "Content-Type": "application/json", ...(token ? { Authorization: `Bearer ${token}` } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  if (!response.ok) throw new Error(`${method} ${route}: ${response.status} ${await response.text()}`);
  return response.status === 204 ? null : response.json();
}

async function main() {
  mkdirSync(outDir, { recursive: true });
  log("starting the local stack (models load first)…");
  const stack = await startStack();
  const base = stack.url;
  log("gateway", base);
  let browser;
  let speaker;
  try {
    const stamp = Date.now();
    const ana = await api(base, "POST", "/api/auth/register", {
      email: `ana-${stamp}@example.org`,
      password: "password-123",
      display_name: "Ana",
    });

    browser = await chromium.launch({ executablePath: chromiumPath, headless: true, args: CHROMIUM_FLAGS });
    const context = await browser.newContext({ viewport: { width: 1440, height: 900 }, locale: "en-GB" });
    const page = await context.newPage();
    page.on("console", (m) => m.type() === "error" && log("browser console:", m.text()));
    page.on("response", (r) => r.status() >= 400 && log("HTTP", r.status(), r.request().method(), r.url()));

    await page.goto(base + "/");
    await page.getByTestId("auth-mode-signup").click();
    await page.getByTestId("signup-display-name").fill("Bruno");
    await page.getByTestId("signup-email").fill(`bruno-${stamp}@example.org`);
    await page.getByTestId("signup-password").fill("password-123");
    await page.getByTestId("signup-submit").click();
    await page.getByTestId("lobby").waitFor();

    await page.getByTestId("create-room-name").fill("Weekly sync");
    await page.getByTestId("create-room-submit").click();
    await page.getByTestId("room-name").waitFor();
    const roomId = await page.getByTestId("room-page").getAttribute("data-room-id");
    log("room", roomId);

    await api(base, "POST", `/api/rooms/${roomId}/join`, { listen_only: false }, ana.access_token);
    await page.getByTestId("home-link").click();
    await page.getByTestId("room-row").first().waitFor();
    await page.getByTestId("tier-table").waitFor();
    await page.screenshot({ path: path.join(outDir, "web-lobby.png") });
    log("lobby screenshot taken");

    await page.getByTestId("join-room").first().click();
    await page.getByTestId("room-name").waitFor();
    await page.getByTestId("language-picker").selectOption("es");
    await page.waitForSelector('[data-testid="caption-panel"][data-socket="open"]');

    const wsUrl = base.replace(/^http/, "ws") + `/ws/rooms/${roomId}/audio`;
    const clip = path.join(repo, "assets", "demo", "demo_en.wav");
    speaker = spawn(python, ["-c", SPEAKER, wsUrl, ana.access_token, ana.user_id, String(clipSeconds), clip], {
      cwd: repo,
      stdio: "inherit",
    });
    log(`speaker streaming ${clipSeconds} s of the clip in real time`);

    const deadline = Date.now() + (clipSeconds + 40) * 1000;
    let shot = false;
    while (Date.now() < deadline) {
      const finals = await page.locator('[data-testid="caption-line"][data-type="final"][data-lang="es"]').count();
      const partials = await page.locator('[data-testid="caption-line"][data-type="partial"]').count();
      if (finals >= 4 && partials >= 1) {
        await page.screenshot({ path: path.join(outDir, "web-room.png") });
        shot = true;
        log(`room screenshot taken: ${finals} finals, ${partials} partial`);
        break;
      }
      await page.waitForTimeout(250);
    }
    if (!shot) {
      await page.screenshot({ path: path.join(outDir, "web-room.png") });
      log("room screenshot taken at the deadline");
    }
    const [download] = await Promise.all([
      page.waitForEvent("download"),
      page.getByTestId("download-transcript").click(),
    ]);
    log("transcript download:", download.suggestedFilename());
    const lines = await page.locator('[data-testid="caption-line"]').evaluateAll((els) =>
      els.map((e) => ({ ...e.dataset, text: e.querySelector(".text")?.textContent })),
    );
    const tiles = await page.locator('[data-testid="video-tile"]').evaluateAll((els) => els.map((e) => ({ ...e.dataset })));
    log("tiles", JSON.stringify(tiles));
    log("caption lines", lines.length);
    for (const l of lines.slice(0, 6)) log(" ", l.type, l.lang, l.speaker, JSON.stringify(l.text), "| original:", JSON.stringify(l.original));
  } finally {
    speaker?.kill("SIGTERM");
    await browser?.close();
    stack.child.stdin.end();
    await new Promise((resolve) => stack.child.on("exit", resolve));
    log("stack stopped; screenshots in", outDir);
  }
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
