// The viewer in a real browser: records runs with the built xrun, starts `xrun ui` on them and
// drives Debian's headless Chromium through the page as a user would (playwright-core).
//
// Environment: XRUN_BIN (the built xrun), XRUN_BROWSER_DIR (a build folder holding
// node_modules/playwright-core; screenshots go to its screenshots/), XRUN_CHROMIUM (default
// /usr/bin/chromium). Prints one line per check and "N passed, N failed" at the end.
import { spawn, spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const xrun = process.env.XRUN_BIN;
const outDir = process.env.XRUN_BROWSER_DIR;
const chromiumPath = process.env.XRUN_CHROMIUM || '/usr/bin/chromium';
if (!xrun || !outDir) {
  console.error('XRUN_BIN and XRUN_BROWSER_DIR must be set (run the test through ctest)');
  process.exit(2);
}
const { chromium } = createRequire(path.join(outDir, 'package.json'))('playwright-core');
const screenshots = path.join(outDir, 'screenshots');
fs.mkdirSync(screenshots, { recursive: true });

const workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'xrun-browser-'));
const env = { ...process.env, XDG_CACHE_HOME: path.join(workspace, '.cache'),
  XDG_CONFIG_HOME: path.join(workspace, '.config'), XRUN_PLUGINS: '-plot_track' };
delete env.VIRTUAL_ENV;
const children = [];

function record(...flags) {
  const result = spawnSync(xrun, ['run', 'train.py', ...flags], { cwd: workspace, env,
    encoding: 'utf8', timeout: 120000 });
  return result;
}

/** The runs of the archive as {run, meta}: `run` is the folder relative to the archive. */
function runsOnDisk(archive) {
  const found = [];
  for (const namespace of fs.readdirSync(archive)) {
    const folder = path.join(archive, namespace);
    if (namespace.startsWith('.') || !fs.statSync(folder).isDirectory()) continue;
    for (const id of fs.readdirSync(folder)) {
      // A run folder is made under a hidden name, its meta written there, then renamed: the
      // hidden one is no run yet (and its meta may be half written).
      if (id.startsWith('.')) continue;
      const metaFile = path.join(folder, id, 'experiment_meta.json');
      if (!fs.existsSync(metaFile)) continue;
      found.push({ run: `${namespace}/${id}`, meta: JSON.parse(fs.readFileSync(metaFile, 'utf8')) });
    }
  }
  return found;
}

const parameter = (run, name) => run.meta.parameters[name].value;

async function until(what, predicate, seconds = 60) {
  const end = Date.now() + seconds * 1000;
  for (;;) {
    const value = await predicate();
    if (value) return value;
    if (Date.now() > end) throw new Error(`gave up waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function startServer(archive) {
  const server = spawn(xrun, ['ui', '--path', archive, '--port', '0'], { cwd: workspace, env,
    stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(server);
  let stderr = '';
  server.stderr.on('data', (chunk) => { stderr += chunk; });
  return new Promise((resolve, reject) => {
    let stdout = '';
    server.stdout.on('data', (chunk) => {
      stdout += chunk;
      const match = /^xrun ui: serving .* at (http:\/\/127\.0\.0\.1:\d+\/\S*)$/m.exec(stdout);
      if (match) resolve({ server, url: match[1] });
    });
    server.on('exit', (code) => reject(new Error(`xrun ui ended (${code}) before serving: ${stderr}`)));
  });
}

const results = [];
async function check(name, body) {
  try {
    await body();
    results.push(true);
    console.log(`ok - ${name}`);
  } catch (error) {
    results.push(false);
    console.log(`not ok - ${name}: ${error.message.split('\n')[0]}`);
  }
}

function expect(condition, message) {
  if (!condition) throw new Error(message);
}

async function main() {
  fs.copyFileSync(path.join(here, 'train.py'), path.join(workspace, 'train.py'));
  for (const flags of [['--LR', '0.1'], ['--LR', '0.01'], ['--LR', '0.001', '--STEPS', '3000'],
    ['--LR', '0.05', '--FAIL', '1']]) {
    const result = record(...flags);
    const expected = flags.includes('--FAIL') ? 1 : 0;
    expect(result.status === expected || (expected && result.status !== 0),
      `xrun run ${flags.join(' ')} ended ${result.status}: ${result.stderr}`);
  }
  const archive = path.join(workspace, 'results');
  const finished = runsOnDisk(archive);
  expect(finished.length === 4, `4 runs recorded, found ${finished.length}`);

  // A run that keeps tracking while the page is open.
  const live = spawn(xrun, ['run', 'train.py', '--LR', '0.5', '--STEPS', '100000', '--DELAY', '0.05'],
    { cwd: workspace, env, stdio: 'ignore' });
  children.push(live);
  const liveRun = await until('the live run to start', () =>
    runsOnDisk(archive).find((r) => !finished.some((f) => f.run === r.run)));

  const { url } = await startServer(archive);
  const browser = await chromium.launch({ executablePath: chromiumPath,
    args: process.getuid && process.getuid() === 0 ? ['--no-sandbox'] : [] });
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  const pageErrors = [];
  page.on('pageerror', (error) => pageErrors.push(error.message));
  // The server's Content-Security-Policy refuses inline scripts and styles: the page uses none.
  page.on('console', (entry) => {
    if (/Content Security Policy|Refused to/.test(entry.text())) pageErrors.push(entry.text());
  });
  page.setDefaultTimeout(20000);
  const shoot = (name) => page.screenshot({ path: path.join(screenshots, `${name}.png`) });
  const byLr = (lr) => finished.find((r) => parameter(r, 'LR') === lr);
  const rowIds = () => page.$$eval('.run-row', (rows) => rows.map((r) => r.dataset.run));

  await check('the runs table lists every run', async () => {
    await page.goto(url);
    await page.waitForSelector('#runs-table .run-row');
    await until('five rows', async () => (await rowIds()).length === 5, 20);
    const ids = await rowIds();
    for (const run of [...finished, liveRun]) expect(ids.includes(run.run), `${run.run} is missing`);
    const failed = await page.textContent(`.run-row[data-run="${byLr(0.05).run}"] .status`);
    expect(failed.trim() === 'failed', `the failing run shows "${failed}"`);
    await shoot('runs-table');
  });

  await check('a filter keeps the matching runs', async () => {
    await page.fill('#filter', 'LR == 0.01');
    await page.press('#filter', 'Enter');
    await until('one row', async () => (await rowIds()).length === 1, 20);
    expect((await rowIds())[0] === byLr(0.01).run, 'the run with LR 0.01 is shown');
    expect(await page.isHidden('#filter-error'), 'no error is shown');
  });

  await check('a bad filter shows the error with a caret under its column', async () => {
    const where = 'LR == 0.01 and and';
    await page.fill('#filter', where);
    await page.press('#filter', 'Enter');
    await page.waitForSelector('#filter-error:not([hidden])');
    const answer = await page.evaluate(async (w) => {
      const response = await fetch(`api/v1/runs?${new URLSearchParams({ where: w })}`);
      return { status: response.status, body: await response.json() };
    }, where);
    expect(answer.status === 400, `the API answered ${answer.status}`);
    const shown = await page.textContent('#filter-error');
    expect(shown.includes(answer.body.error), `"${shown}" names the error`);
    const lines = (await page.textContent('#filter-error pre')).split('\n');
    expect(lines[0] === where, `the expression is shown: ${lines[0]}`);
    expect(lines[1].indexOf('^') === answer.body.column - 1,
      `the caret is under column ${answer.body.column}: "${lines[1]}"`);
    await shoot('filter-error');
    await page.fill('#filter', '');
    await page.press('#filter', 'Enter');
    await until('all rows again', async () => (await rowIds()).length === 5, 20);
  });

  await check('clicking a header sorts by it, a second click reverses', async () => {
    const started = [...finished, liveRun].sort((a, b) => a.meta.start_time - b.meta.start_time)
      .map((r) => r.run);
    await page.click('th[data-column="start_time"] button');
    await page.waitForSelector('th[data-column="start_time"][aria-sort="ascending"]');
    await until('ascending start order', async () => JSON.stringify(await rowIds()) === JSON.stringify(started), 20);
    await page.click('th[data-column="start_time"] button');
    await page.waitForSelector('th[data-column="start_time"][aria-sort="descending"]');
    await until('descending start order', async () =>
      JSON.stringify(await rowIds()) === JSON.stringify([...started].reverse()), 20);
  });

  await check('a run page draws its series with every point', async () => {
    const run = byLr(0.1);
    await page.click(`.run-row[data-run="${run.run}"] td.name a`);
    await page.waitForSelector('#run-page');
    await page.waitForSelector('.series-chart[data-name="train/loss"] .uplot');
    await until('300 points drawn', async () =>
      (await page.getAttribute('.series-chart[data-name="train/loss"]', 'data-points')) === '300', 20);
    const acc = await page.getAttribute('.series-chart[data-name="train/acc"]', 'data-points');
    expect(acc === '30' || acc === '0', `train/acc has 30 points or is not drawn yet (${acc})`);
    await page.waitForFunction(() => document.querySelector('#log').textContent.includes('training with LR 0.1'));
    await shoot('run-page');
  });

  await check('a long series is drawn downsampled, no more than four points a pixel column', async () => {
    await page.goto(`${url}#/run?run=${encodeURIComponent(byLr(0.001).run)}`);
    const selector = '.series-chart[data-name="train/loss"]';
    await page.waitForSelector(`${selector} .uplot`);
    const points = Number(await page.getAttribute(selector, 'data-points'));
    const width = await page.$eval(`${selector} .plot`, (node) => node.clientWidth);
    expect(points > 0 && points < 3000 && points <= 4 * width, `${points} points drawn for 3000`);
  });

  await check('two runs compared overlay their series', async () => {
    await page.goto(url);
    await page.waitForSelector('.run-row');
    await page.check(`.run-row[data-run="${byLr(0.1).run}"] input[type=checkbox]`);
    await page.check(`.run-row[data-run="${byLr(0.01).run}"] input[type=checkbox]`);
    await page.click('#compare-button');
    await page.waitForSelector('#compare-page .series-chart[data-name="train/loss"] .uplot');
    const points = await page.getAttribute('#compare-page .series-chart[data-name="train/loss"]', 'data-points');
    expect(points === '600', `300 points of each run drawn (${points})`);
    const series = await page.$$eval('#compare-page .series-chart[data-name="train/loss"] .uplot', (plots) => plots.length);
    expect(series === 1, 'one chart for train/loss');
    const differences = await page.textContent('#compare-page table.diff');
    expect(differences.includes('LR') && !differences.includes('STEPS'), 'only LR differs');
    await page.mouse.move(0, 0);
    await shoot('compare');
  });

  await check('dragging over a compared chart zooms in, a double-click zooms out', async () => {
    const chart = '#compare-page .series-chart[data-name="train/loss"]';
    const points = async () => Number(await page.getAttribute(chart, 'data-points'));
    const area = await (await page.$(`${chart} .u-over`)).boundingBox();
    await page.mouse.move(area.x + area.width * 0.2, area.y + area.height / 2);
    await page.mouse.down();
    await page.mouse.move(area.x + area.width * 0.4, area.y + area.height / 2, { steps: 5 });
    await page.mouse.up();
    // About a fifth of each run's 300 steps: the zoomed range's own points, fetched again.
    await until('the zoomed range', async () => (await points()) > 40 && (await points()) < 300, 20);
    await page.mouse.dblclick(area.x + area.width / 2, area.y + area.height / 2);
    await until('every point again', async () => (await points()) === 600, 20);
  });

  await check("a live run's chart grows while the page is open", async () => {
    await page.goto(`${url}#/run?run=${encodeURIComponent(liveRun.run)}`);
    const selector = '.series-chart[data-name="train/loss"]';
    await page.waitForSelector(`${selector} .uplot`);
    const first = Number(await page.getAttribute(selector, 'data-points'));
    await until('more points', async () => Number(await page.getAttribute(selector, 'data-points')) > first + 5, 30);
    const log = (await page.textContent('#log')).length;
    await until('more log', async () => (await page.textContent('#log')).length > log, 30);
    await shoot('live-run');
  });

  await check('the table shows a new run and a status change without a reload', async () => {
    await page.goto(url);
    await page.waitForSelector(`.run-row[data-run="${liveRun.run}"] .status-running`);
    const before = (await rowIds()).length;
    const result = record('--LR', '0.2', '--STEPS', '10');
    expect(result.status === 0, `xrun run ended ${result.status}: ${result.stderr}`);
    await until('the new run in the table', async () => (await rowIds()).length === before + 1, 30);
    live.kill('SIGTERM');
    await page.waitForSelector(`.run-row[data-run="${liveRun.run}"] .status:not(.status-running)`,
      { timeout: 30000 });
    const status = await page.textContent(`.run-row[data-run="${liveRun.run}"] .status`);
    expect(status.trim() === 'interrupted', `the stopped run shows "${status}"`);
  });

  await check('a sweep is listed, and its page shows every variation with its run', async () => {
    const result = record('--sweep', 'LR=0.3,0.03', '--STEPS', '20');
    expect(result.status === 0, `the sweep ended ${result.status}: ${result.stderr}`);
    await page.click('[data-nav="sweeps"]');
    await page.waitForSelector('#sweeps-page');
    // The archive's sweeps are read again at most every second or so: look until it is there.
    await until('the sweep in the list', async () => {
      if (await page.$('.sweep-row')) return true;
      await page.reload();
      await page.waitForSelector('#sweeps-page');
      return false;
    }, 20);
    expect((await page.$$('.sweep-row')).length === 1, 'one sweep listed');
    await shoot('sweeps');
    await page.click('.sweep-row a');
    await page.waitForSelector('#sweep-page .variation-row');
    const rows = await page.$$eval('#sweep-page .variation-row', (trs) => trs.map((tr) =>
      ({ status: tr.querySelector('.status').textContent.trim(), run: !!tr.querySelector('a') })));
    expect(rows.length === 2, `two variations (${rows.length})`);
    expect(rows.every((r) => r.status === 'done' && r.run), `each done, with its run: ${JSON.stringify(rows)}`);
    const commands = await page.$$eval('#sweep-page code', (codes) => codes.map((c) => c.textContent));
    expect(commands.some((c) => c.startsWith('xrun sweep resume ')),
      `the resume command is shown: ${JSON.stringify(commands)}`);
    await shoot('sweep');
  });

  await check('the page raised no script error and broke no security policy', async () => {
    expect(pageErrors.length === 0, pageErrors.join('; '));
  });

  await browser.close();
}

let code = 0;
try {
  await main();
} catch (error) {
  console.log(`not ok - setting up: ${error.message}`);
  results.push(false);
} finally {
  for (const child of children) if (child.exitCode === null) child.kill('SIGTERM');
  await Promise.all(children.map((child) => (child.exitCode === null
    ? new Promise((resolve) => child.on('exit', resolve)) : null)));
  fs.rmSync(workspace, { recursive: true, force: true });
}
const passed = results.filter(Boolean).length;
const failed = results.length - passed;
console.log(`${passed} passed, ${failed} failed`);
if (failed) code = 1;
process.exit(code);
