/**
 * The dashboard in a real browser (Debian's Chromium, driven by playwright-core) against a
 * running local stack (LocalStack, npm start's own code): an upload appears and reaches
 * `deployed` without a reload, a second one takes over, "roll back" to the first after a
 * confirmation makes a new release that is deployed, a redeploy is done with the keyboard alone
 * (and a cancelled dialog does nothing), a failed build shows its error, a canary rollout shows
 * its progress and is promoted, a service in two regions links each region's URL, the page fits a 375 px
 * screen, and no request leaves 127.0.0.1. The screenshot it takes is the README's (docs/dashboard.png, rewritten with
 * DROPDEPLOY_UPDATE_SCREENSHOT=1; always written to dist/screenshots/).
 */
import assert from 'node:assert/strict';
import {cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {after, before, describe, it} from 'node:test';
import {chromium, type Browser, type Page} from 'playwright-core';
import {dropFile} from '../../local/bucket/watcher';
import {packFolder} from '../../local/drop';
import {REPO_ROOT} from '../../local/repo-root';
import {LocalStack} from '../../local/stack';
import {requireEmulators} from './stack';

const CHROMIUM = '/usr/bin/chromium';
const SERVICE = 'hello';
const APP = join(REPO_ROOT, 'examples', 'hello-app');
const ROLLOUT_APP = join(REPO_ROOT, 'test', 'fixtures', 'rollout-app');
const missingBrowser = existsSync(CHROMIUM)
  ? undefined
  : `${CHROMIUM} is missing: install Debian's chromium package (apt-get install -y chromium; .ci/run does)`;

describe('the dashboard in Chromium', {timeout: 300_000, skip: process.env.CI === 'true' ? false : missingBrowser}, () => {
  let stack: LocalStack;
  let browser: Browser;
  let page: Page;
  const logs: string[] = [];
  const requests: string[] = [];
  const problems: string[] = [];
  let loads = 0;
  const root = mkdtempSync(join(tmpdir(), 'dd-dashboard-'));

  const release = (n: number) => page.locator(`#release-${SERVICE}-${n}`);
  /** Waits until release `n` shows `state` (by polling the page, never reloading it). */
  const shows = async (n: number, state: string, timeout = 60_000) => {
    try {
      await release(n)
        .locator('h4 .badge')
        .first()
        .filter({hasText: new RegExp(`^${state}$`)})
        .waitFor({timeout});
    } catch (err) {
      const text = await page
        .locator('main')
        .innerText()
        .catch(() => '(no page)');
      assert.fail(
        `v${n} did not show ${state}: ${(err as Error).message}\npage:\n${text.slice(0, 3000)}\nlog:\n${logs.slice(-20).join('\n')}`,
      );
    }
  };
  // Expressions, not functions: this file is compiled without the DOM's types.
  const focusedId = async () => page.evaluate<string | undefined>('document.activeElement?.id');
  const drop = (object: string) => dropFile(stack.info.bucketDir, object, packFolder(APP));

  before(async () => {
    if (missingBrowser) throw new Error(`CI=true and ${missingBrowser}`);
    requireEmulators();
    // Rollout steps move on reconciler runs.
    stack = await LocalStack.start({root, onLog: (l) => logs.push(l), reconcileSeconds: 1});
    browser = await chromium.launch({executablePath: CHROMIUM, args: ['--no-sandbox']});
    const context = await browser.newContext({viewport: {width: 1000, height: 900}});
    context.on('request', (r) => requests.push(r.url()));
    page = await context.newPage();
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    // A load event per document: a reload would be a second one (moving to #service is none).
    page.on('load', () => loads++);
  });
  after(async () => {
    await browser?.close();
    await stack?.stop();
    rmSync(root, {recursive: true, force: true});
  });

  it('opens at the API URL and says there is no service yet', async () => {
    await page.goto(`${stack.info.apiUrl}/`);
    await page.getByText('No service yet').waitFor({timeout: 10_000});
    await page.locator('#connection', {hasText: /^Live/}).waitFor({timeout: 10_000});
  });

  it('an upload appears and reaches deployed, without a reload', async () => {
    drop(`${SERVICE}/v1.tgz`);
    await release(1).waitFor({timeout: 30_000});
    await shows(1, 'deployed');
    const card = page.locator(`#link-${SERVICE}`).locator('xpath=..');
    await card.getByText('serving v1').waitFor();
    assert.match(await release(1).innerText(), /upload of hello\/v1\.tgz/);
    assert.match(await release(1).innerText(), /sha256:[0-9a-f]{64}/);
    assert.equal(await release(1).getByRole('link', {name: 'open the build log'}).count(), 1);
    // The live region told a screen reader as it happened.
    await page.locator('#live', {hasText: /hello v1/}).waitFor();
  });

  it('a second upload takes over; "Roll back to v1", confirmed, makes v3 and deploys it', async () => {
    drop(`${SERVICE}/v2.tgz`);
    await shows(2, 'deployed');
    await release(2).getByText('serving', {exact: true}).waitFor();
    await release(1).getByRole('button', {name: 'Roll back to v1'}).click();
    const dialog = page.locator('dialog#confirm');
    await dialog.waitFor({state: 'visible'});
    assert.match(await dialog.innerText(), /Deploy v1's image of hello again/);
    await dialog.getByRole('button', {name: 'Roll back to v1'}).click();
    await shows(3, 'deployed');
    assert.match(await release(3).innerText(), /rollback to v1/);
    await page.locator(`#link-${SERVICE}`).locator('xpath=..').getByText('serving v3').waitFor();
    // What the API says, too: a rollback release by the local caller, with v1's image.
    const api = async (path: string) => (await (await fetch(`${stack.info.apiUrl}${path}`)).json()) as Record<string, unknown>;
    const [v1, v3] = [await api(`/v1/services/${SERVICE}/releases/1`), await api(`/v1/services/${SERVICE}/releases/3`)];
    assert.deepEqual([v3.trigger, v3.rollbackOf, v3.actor, v3.state, v3.image], ['rollback', 1, 'local', 'deployed', v1.image]);
  });

  it('a redeploy with the keyboard alone: Tab to it, Escape cancels, Enter confirms', async () => {
    const target = `service-${SERVICE}-redeploy`;
    await page.locator('body').focus();
    let reached = false;
    for (let i = 0; i < 60 && !reached; i++) {
      await page.keyboard.press('Tab');
      reached = (await focusedId()) === target;
    }
    assert.ok(reached, `Tab never reached #${target}`);
    const outline = await page.evaluate('getComputedStyle(document.activeElement).outlineStyle');
    assert.notEqual(outline, 'none', 'the focused button shows its focus');
    await page.keyboard.press('Enter');
    const dialog = page.locator('dialog#confirm');
    await dialog.waitFor({state: 'visible'});
    assert.equal(await focusedId(), 'confirm-cancel', 'the dialog opens on Cancel');
    await page.keyboard.press('Escape');
    await dialog.waitFor({state: 'hidden'});
    assert.equal(await focusedId(), target, 'focus returns to the button');
    await page.waitForTimeout(2500);
    assert.equal(await release(4).count(), 0, 'a cancelled dialog made no release');
    await page.keyboard.press('Enter');
    await dialog.waitFor({state: 'visible'});
    await page.keyboard.press('Tab');
    assert.equal(await focusedId(), 'confirm-ok');
    await page.keyboard.press('Enter');
    await shows(4, 'deployed');
    // The newest source is v3's: a rollback carries its target's (v1's) source.
    assert.match(await release(4).innerText(), /redeploy of hello\/v1\.tgz/);
    await page.locator('#notice', {hasText: /^Redeploy hello: started release v4 of hello$/}).waitFor();
  });

  it("a build that fails shows its error, and the service's card says so", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dd-dashboard-broken-'));
    cpSync(APP, dir, {recursive: true});
    writeFileSync(join(dir, 'package.json'), '{"name": "hello", ');
    dropFile(stack.info.bucketDir, `${SERVICE}/broken.tgz`, packFolder(dir));
    await shows(5, 'build_failed');
    const error = await release(5).locator('.error').innerText();
    assert.match(error, /^BUILD_FAILURE: .*package\.json is not valid JSON/);
    await page.locator(`#link-${SERVICE}`).locator('xpath=..').getByText('v5 build_failed (serving v4)').waitFor();
    assert.equal(await release(5).getByRole('button').count(), 0, 'nothing to roll back to in a failed build');
  });

  it('saves the screenshot the README shows', async () => {
    const out = join(REPO_ROOT, 'dist', 'screenshots');
    mkdirSync(out, {recursive: true});
    await page.screenshot({path: join(out, 'dashboard.png'), fullPage: true});
    // The README's: the top of the page (the card, the failed build, the newest releases).
    if (process.env.DROPDEPLOY_UPDATE_SCREENSHOT === '1') {
      await page.evaluate('window.scrollTo(0, 0)');
      await page.screenshot({path: join(REPO_ROOT, 'docs', 'dashboard.png')});
    }
    assert.ok(existsSync(join(out, 'dashboard.png')));
  });

  it('a canary rollout shows its progress; "Promote" moves all traffic to it', async () => {
    const shop = (n: number) => page.locator(`#release-shop-${n}`);
    const upload = (object: string, version: string, rollout?: object) => {
      const dir = mkdtempSync(join(tmpdir(), 'dd-dashboard-shop-'));
      cpSync(ROLLOUT_APP, dir, {recursive: true});
      writeFileSync(join(dir, 'behaviour.json'), JSON.stringify({version, health: 200, errors: false}));
      dropFile(stack.info.bucketDir, object, packFolder(dir), rollout ? {'dropdeploy-rollout': JSON.stringify(rollout)} : {});
    };
    upload('shop/v1.tgz', 'v1');
    await page.locator('#link-shop').click();
    await shop(1)
      .locator('h4 .badge', {hasText: /^deployed$/})
      .waitFor({timeout: 60_000});
    // Steps 600 s apart: it stays at its first step until promoted.
    upload('shop/v2.tgz', 'v2', {strategy: 'canary', steps: [10, 100], interval: '600s', check: {path: '/healthz'}});
    await shop(2)
      .locator('h4 .badge', {hasText: /^rolling_out$/})
      .waitFor({timeout: 60_000});
    const progress = shop(2).locator('progress');
    await progress.waitFor();
    assert.equal(await progress.getAttribute('value'), '10');
    assert.match(await shop(2).locator('.rollout').innerText(), /10 % of traffic on v2, the rest on v1 \(shop-/);
    assert.deepEqual(await shop(2).getByRole('button').allInnerTexts(), ['Promote v2', 'Abort v2', 'Pause v2']);
    await shop(2).getByRole('button', {name: 'Promote v2'}).click();
    const dialog = page.locator('dialog#confirm');
    assert.match(await dialog.innerText(), /Move all traffic of shop to v2 now/);
    await dialog.getByRole('button', {name: 'Promote v2'}).click();
    await shop(2)
      .locator('h4 .badge', {hasText: /^deployed$/})
      .waitFor({timeout: 30_000});
    await page.locator('#link-shop').locator('xpath=..').getByText('serving v2').waitFor();
    assert.equal(await page.locator('.services > li').count(), 2, 'both services are listed');
  });

  it("a service in two regions: the card and the timeline link each region's own URL", async () => {
    // A long region and a long project id of the one local Cloud Run emulator (it serves any):
    // the 375 px check below covers them.
    const far = {region: 'northamerica-northeast2', project: 'dropdeploy-far-away-project-x'};
    const set = await fetch(`${stack.info.apiUrl}/v1/services/multi/policy`, {
      method: 'PATCH',
      headers: {'content-type': 'application/json'},
      body: JSON.stringify({targets: [{region: stack.info.region}, far], targetOrder: 'parallel'}),
    });
    assert.equal(set.status, 200, await set.text());
    const dir = mkdtempSync(join(tmpdir(), 'dd-dashboard-multi-'));
    cpSync(ROLLOUT_APP, dir, {recursive: true});
    writeFileSync(join(dir, 'behaviour.json'), JSON.stringify({version: 'v1', health: 200, errors: false}));
    dropFile(stack.info.bucketDir, 'multi/v1.tgz', packFolder(dir));
    await page.locator('#link-multi').waitFor({timeout: 30_000});
    await page.locator('#link-multi').click();
    const v1 = page.locator('#release-multi-1');
    await v1.locator('h4 .badge', {hasText: /^deployed$/}).waitFor({timeout: 60_000});
    const r = (await (await fetch(`${stack.info.apiUrl}/v1/services/multi/releases/1`)).json()) as {targets: {url: string}[]};
    const urls = r.targets.map((t) => new URL(t.url).href);
    assert.equal(new Set(urls).size, 2, JSON.stringify(r.targets));
    const card = page.locator('#link-multi').locator('xpath=ancestor::li[1]');
    for (const where of [v1.locator('.targets'), card.locator('.targets')]) {
      const links = await where.getByRole('link').all();
      assert.deepEqual(await Promise.all(links.map((a) => a.getAttribute('href'))), urls);
      assert.deepEqual(await where.getByRole('link').allInnerTexts(), urls);
    }
    assert.match(await v1.locator('.targets').innerText(), /northamerica-northeast2 \(project dropdeploy-far-away-project-x\)\s*deployed/);
  });

  it('fits a 375 px wide screen: nothing wider than it', async () => {
    await page.setViewportSize({width: 375, height: 800});
    await page.waitForTimeout(300);
    const [scroll, client] = await page.evaluate<number[]>('[document.documentElement.scrollWidth, document.documentElement.clientWidth]');
    assert.ok(scroll <= client, `the page is ${scroll} px wide in a ${client} px screen`);
    await page.screenshot({path: join(REPO_ROOT, 'dist', 'screenshots', 'dashboard-375.png'), fullPage: true});
  });

  it('loaded once, asked nothing of any host but 127.0.0.1, and logged no error (no CSP violation)', () => {
    assert.equal(loads, 1, 'the page was never reloaded');
    const away = requests.filter((u) => !u.startsWith('data:') && new URL(u).hostname !== '127.0.0.1');
    assert.deepEqual(away, []);
    assert.ok(requests.filter((u) => u.includes('/v1/services')).length > 5, 'the page read the API as it went');
    assert.deepEqual(problems, []);
  });
});
