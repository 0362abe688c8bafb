// Opening a page in headless Chromium over the DevTools protocol (--remote-debugging-pipe): console errors and exceptions, a value computed in the page, a full-page screenshot.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface PageVisit<T> {
  /** console.error calls, uncaught exceptions and error-level log entries (CSP violations, failed loads). */
  errors: string[];
  /** What `probe` evaluated to in the loaded page. */
  probed: T;
  screenshotPng: Buffer;
}

export function chromiumPath(): string | undefined {
  for (const name of ['chromium', 'chromium-browser', 'google-chrome']) {
    for (const dir of (process.env.PATH ?? '').split(':')) {
      const candidate = path.join(dir, name);
      if (fs.existsSync(candidate)) return candidate;
    }
  }
  return undefined;
}

/** Loads `file`, waits for the load event, evaluates `probe` (an expression returning JSON), screenshots the whole page. */
export async function visit<T>(file: string, probe: string, timeoutMs = 60_000): Promise<PageVisit<T>> {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'joule-chromium-'));
  const browser = spawn(chromiumPath()!, ['--headless', '--no-sandbox', '--disable-gpu', '--remote-debugging-pipe', `--user-data-dir=${profile}`, '--no-first-run', 'about:blank'], { stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'] });
  const toBrowser = browser.stdio[3] as NodeJS.WritableStream;
  const fromBrowser = browser.stdio[4] as NodeJS.ReadableStream;
  let nextId = 1;
  const pending = new Map<number, { resolve(value: any): void; reject(error: Error): void }>();
  const listeners: ((message: any) => void)[] = [];
  let buffer = '';
  fromBrowser.setEncoding('utf8');
  fromBrowser.on('data', (chunk: string) => {
    buffer += chunk;
    // Messages on the pipe are JSON texts ended by a NUL byte.
    for (let end = buffer.indexOf('\0'); end >= 0; end = buffer.indexOf('\0')) {
      const message = JSON.parse(buffer.slice(0, end));
      buffer = buffer.slice(end + 1);
      if (message.id !== undefined && pending.has(message.id)) {
        const { resolve, reject } = pending.get(message.id)!;
        pending.delete(message.id);
        if (message.error) reject(new Error(`${message.error.message} (${message.error.code})`));
        else resolve(message.result);
      } else listeners.forEach((listener) => listener(message));
    }
  });
  const send = (method: string, params: Record<string, unknown> = {}, sessionId?: string): Promise<any> =>
    new Promise((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve, reject });
      toBrowser.write(`${JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) })}\0`);
    });
  const timer = setTimeout(() => browser.kill('SIGKILL'), timeoutMs);
  try {
    const { targetId } = await send('Target.createTarget', { url: 'about:blank' });
    const { sessionId } = await send('Target.attachToTarget', { targetId, flatten: true });
    const errors: string[] = [];
    let loaded: () => void = () => undefined;
    const load = new Promise<void>((resolve) => (loaded = resolve));
    listeners.push((message) => {
      if (message.sessionId !== sessionId) return;
      if (message.method === 'Runtime.consoleAPICalled' && (message.params.type === 'error' || message.params.type === 'assert')) errors.push(`console.${message.params.type}: ${message.params.args.map((a: { value?: unknown; description?: string }) => a.value ?? a.description).join(' ')}`);
      if (message.method === 'Runtime.exceptionThrown') errors.push(`exception: ${message.params.exceptionDetails.exception?.description ?? message.params.exceptionDetails.text}`);
      if (message.method === 'Log.entryAdded' && message.params.entry.level === 'error') errors.push(`log: ${message.params.entry.text}`);
      if (message.method === 'Page.loadEventFired') loaded();
    });
    await send('Runtime.enable', {}, sessionId);
    await send('Log.enable', {}, sessionId);
    await send('Page.enable', {}, sessionId);
    await send('Page.navigate', { url: `file://${path.resolve(file)}` }, sessionId);
    await load;
    const evaluated = await send('Runtime.evaluate', { expression: `JSON.stringify(${probe})`, returnByValue: true }, sessionId);
    const shot = await send('Page.captureScreenshot', { format: 'png', captureBeyondViewport: true }, sessionId);
    await send('Browser.close').catch(() => undefined);
    return { errors, probed: JSON.parse(evaluated.result.value) as T, screenshotPng: Buffer.from(shot.data, 'base64') };
  } finally {
    clearTimeout(timer);
    browser.kill('SIGKILL');
    await new Promise((resolve) => (browser.exitCode !== null || browser.signalCode !== null ? resolve(null) : browser.on('close', resolve)));
    fs.rmSync(profile, { recursive: true, force: true });
  }
}
