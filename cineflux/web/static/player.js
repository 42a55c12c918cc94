// Plays the page's manifest with Shaka Player (v5 track API): audio-language and subtitle
// menus, trickplay thumbnails, a status line, and failover between the edges that steering
// ranked for this playback.
"use strict";

// Steering hands the page several base URLs (edges of the viewer's site, then spill-over
// sites, the origin last); the personalised manifest lists them too. Every signed request
// (/t/<token>/...) the player makes is given one URI per base, in the current order, so
// that Shaka's retry moves to the next edge on an error or a timeout; the base that
// answered last goes first from then on, so a dead edge costs one failed request, not one
// per segment. The API's own requests (the manifest) stay where they are.
class EdgeFailover {
  constructor(bases) {
    this.bases = bases.map((base) => base.replace(/\/$/, ""));
    this.failures = 0;
    this.expanded = new WeakSet();
  }

  // The server of a signed request; null for any other (the API's manifest, licences).
  baseOf(uri) {
    return this.bases.find((base) => uri.startsWith(`${base}/t/`)) ?? null;
  }

  expand(request) {
    // Once per request: Shaka filters every attempt again, and its retry takes the next URI
    // of the list the first attempt had. Several URIs at first are the MPD's BaseURLs, the
    // same path on each server, put in the current order.
    if (this.expanded.has(request)) return;
    this.expanded.add(request);
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

// Quality-of-experience reports (POST /api/qoe/events): time to first frame, stalls, time
// played, bitrate switches, errors and the last CMCD data sent to an edge, batched every
// ten seconds and once more when the page goes away. The server clamps event times to its
// own clock, so the client's clock only orders events.
const QOE_ENDPOINT = "/api/qoe/events";
const QOE_FLUSH_MS = 10000;
const QOE_MAX_EVENTS = 90; // the server takes up to 100 per batch
const HOUR_MS = 3600000;

function randomSessionId() {
  if (window.crypto.randomUUID) return window.crypto.randomUUID();
  // randomUUID exists only in secure contexts; a demo reached over plain HTTP has none.
  const bytes = window.crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

class QoeReporter {
  static forPage(video, failover) {
    const fromPath = window.location.pathname.match(/^\/titles\/([A-Za-z0-9-]+)\/watch/);
    const titleId = video.dataset.title || (fromPath && fromPath[1]);
    if (!titleId) return null;
    // playback.js names the session POST /api/playback opened; without one, the page view is.
    if (!video.dataset.session) video.dataset.session = randomSessionId();
    return new QoeReporter(video, failover, video.dataset.session, titleId);
  }

  constructor(video, failover, sessionId, titleId) {
    this.video = video;
    this.failover = failover;
    this.sessionId = sessionId;
    this.titleId = titleId;
    this.events = [];
    this.edge = this.servingEdge();
    this.loadStartedAt = performance.now();
    this.waitingForUser = false;
    this.started = false;
    this.stallStartedAt = null;
    this.playingSince = null;
    this.playedMs = 0;
    this.cmcd = null;
  }

  cmcdConfig() {
    return { enabled: true, sessionId: this.sessionId, contentId: this.titleId, useHeaders: false };
  }

  servingEdge() {
    const base = this.failover.bases[0];
    if (base === window.location.origin) return "origin";
    try {
      return new URL(base).host;
    } catch (_) {
      return "origin";
    }
  }

  push(kind, fields) {
    this.events.push({ kind, at: new Date().toISOString(), ...fields });
    if (this.events.length >= QOE_MAX_EVENTS) this.flush(false);
  }

  // Autoplay was refused: the startup time runs from the viewer's press on play.
  awaitUser() {
    this.waitingForUser = true;
  }

  accruePlayed(now) {
    if (this.playingSince !== null) this.playedMs += now - this.playingSince;
    this.playingSince = null;
  }

  watch(player, networking) {
    const video = this.video;
    video.addEventListener("play", () => {
      if (!this.started && this.waitingForUser) this.loadStartedAt = performance.now();
      this.waitingForUser = false;
    });
    video.addEventListener("playing", () => {
      const now = performance.now();
      if (!this.started) {
        this.started = true;
        this.push("startup", { ms: Math.min(Math.round(now - this.loadStartedAt), 600000) });
      } else if (this.stallStartedAt !== null) {
        this.push("rebuffer", { duration_ms: Math.min(Math.round(now - this.stallStartedAt), HOUR_MS) });
      }
      this.stallStartedAt = null;
      this.playingSince = now;
    });
    video.addEventListener("waiting", () => {
      const now = performance.now();
      this.accruePlayed(now);
      // Waiting after a seek is the viewer's doing, not a stall of the network.
      if (this.started && !video.seeking && this.stallStartedAt === null) this.stallStartedAt = now;
    });
    for (const name of ["pause", "seeking", "ended"]) {
      video.addEventListener(name, () => {
        this.accruePlayed(performance.now());
        this.stallStartedAt = null;
      });
    }
    const onSwitch = (event) => {
      // The first choice of a variant (no old track) is not a switch.
      const from = event.oldTrack && event.oldTrack.bandwidth;
      const to = event.newTrack && event.newTrack.bandwidth;
      if (!from || !to || from === to) return;
      this.push("bitrate", { from_bps: Math.round(from), to_bps: Math.round(to) });
    };
    player.addEventListener("adaptation", onSwitch);
    player.addEventListener("variantchanged", onSwitch);
    player.addEventListener("error", (event) => this.push("error", { code: String(event.detail.code) }));
    networking.registerResponseFilter((_type, response) => {
      try {
        const uri = new URL(response.originalUri || response.uri, window.location.href);
        const cmcd = uri.searchParams.get("CMCD");
        if (cmcd !== null) this.cmcd = `CMCD=${encodeURIComponent(cmcd)}`;
      } catch (_) {
        // not a URL with a query (a data: URI): nothing to report
      }
      const edge = this.servingEdge();
      if (edge !== this.edge) {
        this.flush(false); // what happened so far belongs to the edge that served it
        this.edge = edge;
      }
    });
    window.setInterval(() => this.flush(false), QOE_FLUSH_MS);
    window.addEventListener("pagehide", () => this.flush(true));
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "hidden") this.flush(false); // mobiles may never fire pagehide
    });
  }

  flush(leaving) {
    const now = performance.now();
    const playing = this.playingSince !== null;
    this.accruePlayed(now);
    if (playing) this.playingSince = now;
    if (leaving && this.stallStartedAt !== null) {
      // The viewer left during a stall: it counts, up to now.
      this.push("rebuffer", { duration_ms: Math.min(Math.round(now - this.stallStartedAt), HOUR_MS) });
      this.stallStartedAt = null;
    }
    const played = Math.min(Math.round(this.playedMs), HOUR_MS);
    if (played > 0) this.events.push({ kind: "played", ms: played, at: new Date().toISOString() });
    this.playedMs = 0;
    if (this.cmcd !== null) this.events.push({ kind: "cmcd", query: this.cmcd.slice(0, 4096) });
    this.cmcd = null;
    if (this.events.length === 0) return;
    const body = JSON.stringify({
      session_id: this.sessionId,
      title_id: this.titleId,
      edge: this.edge,
      events: this.events.splice(0, 100),
    });
    // keepalive lets the request outlive the page, like sendBeacon, and keeps the JSON
    // content type the endpoint requires; sendBeacon is the fallback where it is missing.
    try {
      fetch(QOE_ENDPOINT, {
        method: "POST",
        body,
        headers: { "Content-Type": "application/json" },
        credentials: "same-origin",
        keepalive: true,
      }).catch(() => {});
    } catch (_) {
      navigator.sendBeacon(QOE_ENDPOINT, new Blob([body], { type: "application/json" }));
    }
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

// The manifest the play's answer carried, served to Shaka as if its route had answered
// (relative references resolve the same way). Whatever Shaka appends to the URI (CMCD
// arguments) is ignored: the body is the answer's.
const CARRIED_SCHEME = "cineflux-carried";

function carriedManifestUri(manifest, routeUri) {
  const data = new TextEncoder().encode(manifest.body);
  shaka.net.NetworkingEngine.registerScheme(CARRIED_SCHEME, () =>
    shaka.util.AbortableOperation.completed({
      uri: routeUri,
      originalUri: routeUri,
      data,
      status: 200,
      headers: { "content-type": manifest.media_type },
      fromCache: false,
    }),
  );
  return `${CARRIED_SCHEME}:${manifest.kind}`;
}

// Fast start: the first rung (Shaka's default estimate, a modest one) is kept for two
// seconds, long enough for the first segment to play, instead of being dropped for a
// bigger one as soon as the first bytes show a fast network; ABR adapts from there.
const FAST_START = { minTimeToSwitch: 2 };

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

// An encrypted title: the CDM asks the play's own licence URL (same origin, so the session
// cookie goes with it), never an edge; clear titles configure nothing.
// HLS names keys for "identity" delivery as keys/<kid>: they come from the play's key route,
// and Shaka answers the CDM with a data: licence of those keys, which must stay data: (Shaka
// picks the scheme's plugin before filters run) and lose the ?CMCD= query that breaks its
// base64. Either failure is silent with two key sessions: the video waits for its key.
function configureLicence(player, networking, licence, sessionId, format) {
  if (!licence) return;
  const url = new URL(licence.url, window.location.origin).href;
  // HLS gets its keys from the key route (above), never from the licence URL. A prefetched
  // licence is the server's URI under a scheme of its own: Shaka picks a request's plugin
  // by the scheme before request filters run, so the scheme must be there from the start.
  const prefetched = format === "dash" && prefetchClearKeyLicence(licence, url);
  const server = prefetched ? `${PREFETCHED_SCHEME}:${url}` : url;
  player.configure({ drm: { servers: { [licence.key_system]: server } } });
  const { LICENSE, KEY } = shaka.net.NetworkingEngine.RequestType;
  networking.registerRequestFilter((type, request) => {
    if (type === LICENSE && request.uris[0].startsWith("data:")) {
      request.uris = [request.uris[0].replace(/[?&]CMCD=[^&#]*/g, "")];
    } else if (type === LICENSE) {
      request.uris = [server]; // undo the edge failover's expansion
    }
    const kid = type === KEY && request.uris[0].match(/\/keys\/([0-9a-f]{32})(?:[?#].*)?$/);
    if (kid) request.uris = [`${window.location.origin}/api/playback/${sessionId()}/keys/${kid[1]}`];
  });
}

// Clear Key: the licence of every key the play's answer names is asked for at once, while
// Shaka parses the manifest and sets up the CDM, so the CDM's own requests (one per key
// session: video and audio) are answered without a round trip on the way to the first
// frame. The same endpoint and rules; should the prefetch fail, the request goes out as is.
const PREFETCHED_SCHEME = "cineflux-licence";

function hexToBase64Url(hex) {
  const bytes = hex.match(/../g).map((pair) => parseInt(pair, 16));
  const base64 = btoa(String.fromCharCode(...bytes));
  return base64.replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function prefetchClearKeyLicence(licence, url) {
  if (licence.key_system !== "org.w3.clearkey" || !(licence.key_ids || []).length) return false;
  const ask = (body) => fetch(url, {
    method: "POST", body, credentials: "same-origin", headers: { "Content-Type": "application/json" },
  }).then((response) => {
    if (!response.ok) throw new Error(`licence ${response.status}`);
    return response.arrayBuffer();
  });
  const body = JSON.stringify({ kids: licence.key_ids.map(hexToBase64Url), type: "temporary" });
  const prefetched = ask(body);
  prefetched.catch(() => {}); // a failure is handled when the CDM asks (below)
  // Answers the CDM's requests (whatever Shaka made of the URI: CMCD arguments and all).
  shaka.net.NetworkingEngine.registerScheme(PREFETCHED_SCHEME, (uri, request) =>
    shaka.util.AbortableOperation.notAbortable(
      // A copy per answer: each key session's update() may take its buffer.
      prefetched.catch(() => ask(request.body)).then(
        (data) => ({
          uri: url, originalUri: url, data: data.slice(0), status: 200, headers: {},
          fromCache: false,
        }),
        (error) => {
          const { Severity, Category, Code } = shaka.util.Error;
          throw new shaka.util.Error(
            Severity.CRITICAL, Category.NETWORK, Code.HTTP_ERROR, url, error, PREFETCHED_SCHEME,
          );
        },
      ),
    ),
  );
  return true;
}

async function startPlayer() {
  const video = document.getElementById("video");
  const status = document.getElementById("player-status");
  const show = (text) => { status.textContent = text; };
  shaka.polyfill.installAll();
  if (!shaka.Player.isBrowserSupported()) {
    show("This browser cannot play adaptive streams.");
    CinefluxPlayback.abandon(video);
    return;
  }
  const player = new shaka.Player();
  // Attaching (a MediaSource to open) runs while the play is authorised (below): it
  // waited on its own for a third of the way to the first frame.
  const attaching = player.attach(video);
  attaching.catch(() => {}); // awaited below; a refused play never gets there
  window.cinefluxPlayer = player;
  player.configure({
    preferredAudio: [{ language: document.documentElement.lang || "fr" }],
    manifest: { retryParameters: RETRY },
    streaming: { retryParameters: RETRY },
    abr: FAST_START,
  });
  // Authorised first (playback.js, asked already): it sets the servers and signed paths
  // read below, or says in the page why the play is refused, and then nothing loads.
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
  configureLicence(
    player, networking, playback.licence, () => playback.sessionId, video.dataset.format,
  );
  player.addEventListener("error", (event) => show(`Playback error ${event.detail.code}`));
  const qoe = QoeReporter.forPage(video, failover);
  if (qoe) {
    player.configure({ cmcd: qoe.cmcdConfig() }); // edges get CMCD query arguments
    qoe.watch(player, networking);
    window.cinefluxQoe = qoe;
  }
  try {
    const carried = playback.manifest;
    const uri = carried ? carriedManifestUri(carried, video.dataset.manifest) : video.dataset.manifest;
    const mimeType = carried ? carried.media_type : null;
    // DASH loads from the resume position, so the first segments fetched are the ones
    // played. HLS loads from the start and seeks (playback.js): loaded at a resume
    // position, an encrypted stream with key-route keys stalled.
    // Not player.preload() then load(): with the play already authorised when the
    // library runs, preloading only delayed the DRM and buffers' set-up until the first
    // segments had arrived, 25 ms later to the first frame (bench/playback.py).
    const startTime = video.dataset.format === "dash" ? playback.resumeFrom : null;
    await attaching;
    await player.load(uri, startTime, mimeType);
  } catch (error) {
    show(`Could not load the stream (error ${error.code ?? error})`);
    return;
  }
  if (video.dataset.thumbnails) {
    // After the first frame: until then the first segments have the servers to themselves.
    const thumbnails = () => {
      player.addThumbnailsTrack(failover.bases[0] + video.dataset.thumbnails, "text/vtt").catch(() => {});
    };
    if (video.readyState >= HTMLMediaElement.HAVE_CURRENT_DATA) thumbnails();
    else video.addEventListener("loadeddata", thumbnails, { once: true });
  }
  fillMenus(player);
  player.addEventListener("trackschanged", () => fillMenus(player));
  show(`Playing (${video.dataset.format.toUpperCase()})`);
  try {
    await video.play();
  } catch (_) {
    if (qoe) qoe.awaitUser();
    show("Press play to start.");
  }
}

document.addEventListener("DOMContentLoaded", startPlayer);
