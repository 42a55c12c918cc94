// Plays the page's manifest with Shaka Player (v5 track API): audio-language and subtitle
// menus, trickplay thumbnails, a status line, and failover between the edges that steering
// ranked for this playback.
"use strict";

// Steering hands the page several base URLs (edges of the viewer's site, then spill-over
// sites, the origin last) and one signed path per file. Every request the player makes is
// given one URI per base, in the current order, so that Shaka's retry moves to the next
// edge on an error or a timeout; the base that answered last goes first from then on, so a
// dead edge costs one failed request, not one per segment.
class EdgeFailover {
  constructor(bases) {
    this.bases = bases.map((base) => base.replace(/\/$/, ""));
    this.failures = 0;
  }

  baseOf(uri) {
    return this.bases.find((base) => uri.startsWith(`${base}/`)) ?? null;
  }

  expand(request) {
    if (request.uris.length !== 1) return;
    const base = this.baseOf(request.uris[0]);
    if (base === null) return;
    const path = request.uris[0].slice(base.length);
    request.uris = this.bases.map((b) => b + path);
  }

  preferBase(uri) {
    const base = this.baseOf(uri);
    if (base === null || base === this.bases[0]) return;
    this.bases = [base, ...this.bases.filter((b) => b !== base)];
  }

  demoteBase(uri) {
    const base = this.baseOf(uri || "");
    if (base === null) return;
    this.failures += 1;
    this.bases = [...this.bases.filter((b) => b !== base), base];
  }
}

// Fail fast on a dead edge: a refused connection or a silent one moves to the next URI
// within about two seconds instead of Shaka's default thirty.
const RETRY = {
  maxAttempts: 6,
  baseDelay: 150,
  backoffFactor: 2,
  fuzzFactor: 0.2,
  timeout: 8000,
  stallTimeout: 2000,
  connectionTimeout: 1500,
};

function option(value, label) {
  const element = document.createElement("option");
  element.value = value;
  element.textContent = label;
  return element;
}

function fillMenus(player) {
  const audioMenu = document.getElementById("audio-language");
  const textMenu = document.getElementById("subtitles");
  const audio = player.getAudioTracks();
  audioMenu.replaceChildren(
    ...audio.map((t, i) => option(String(i), t.label || t.language || `Audio ${i + 1}`)),
  );
  const active = audio.findIndex((t) => t.active);
  if (active >= 0) audioMenu.value = String(active);
  audioMenu.hidden = audio.length < 2;
  audioMenu.onchange = () => player.selectAudioTrack(audio[Number(audioMenu.value)]);

  // Forced subtitles are not a choice: the player shows them with their audio language.
  const texts = player.getTextTracks().filter((t) => !t.forced);
  textMenu.replaceChildren(
    option("", "Off"),
    ...texts.map((t) => option(String(t.id), t.label || t.language)),
  );
  const shown = texts.find((t) => t.active);
  textMenu.value = shown ? String(shown.id) : "";
  textMenu.hidden = texts.length === 0;
  textMenu.onchange = () => {
    const chosen = texts.find((t) => String(t.id) === textMenu.value);
    player.selectTextTrack(chosen || null);
  };
}

async function startPlayer() {
  const video = document.getElementById("video");
  const status = document.getElementById("player-status");
  const show = (text) => { status.textContent = text; };
  shaka.polyfill.installAll();
  if (!shaka.Player.isBrowserSupported()) {
    show("This browser cannot play adaptive streams.");
    return;
  }
  const player = new shaka.Player();
  await player.attach(video);
  window.cinefluxPlayer = player;
  player.configure({
    preferredAudio: [{ language: document.documentElement.lang || "fr" }],
    manifest: { retryParameters: RETRY },
    streaming: { retryParameters: RETRY },
  });
  // Authorised first (playback.js): it sets the servers and signed paths read below, or
  // says in the page why the play is refused, and then nothing loads.
  const playback = await CinefluxPlayback.start(video, show);
  if (playback === null) return;
  const bases = JSON.parse(video.dataset.bases || "[]");
  const failover = new EdgeFailover(bases.length ? bases : [window.location.origin]);
  window.cinefluxFailover = failover;
  const networking = player.getNetworkingEngine();
  networking.registerRequestFilter((_type, request) => failover.expand(request));
  networking.registerRequestFilter((_type, request) => playback.renewToken(request));
  networking.registerResponseFilter((_type, response) => failover.preferBase(response.uri));
  networking.addEventListener("retry", (event) => {
    const data = event.error && event.error.data;
    failover.demoteBase(Array.isArray(data) ? String(data[0]) : "");
  });
  player.addEventListener("error", (event) => show(`Playback error ${event.detail.code}`));
  try {
    await player.load(failover.bases[0] + video.dataset.manifest);
  } catch (error) {
    show(`Could not load the stream (error ${error.code ?? error})`);
    return;
  }
  if (video.dataset.thumbnails) {
    player.addThumbnailsTrack(failover.bases[0] + video.dataset.thumbnails, "text/vtt").catch(() => {});
  }
  fillMenus(player);
  player.addEventListener("trackschanged", () => fillMenus(player));
  show(`Playing (${video.dataset.format.toUpperCase()})`);
  try {
    await video.play();
  } catch (_) {
    show("Press play to start.");
  }
}

document.addEventListener("DOMContentLoaded", startPlayer);
