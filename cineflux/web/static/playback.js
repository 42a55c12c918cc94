// The playback session of the watch page: every play is authorised by POST /api/playback
// (subscription, profile, rights, device, the plan's stream limit) before the player loads
// anything. The answer names the servers and signed paths, and carries the personalised
// manifest; heartbeats every 30 s keep the stream counted, save the resume position and
// bring a fresh token, which every later request uses; leaving the page stops the play, so
// the stream is free at once. The request goes out as soon as the page is parsed, while the
// browser is still evaluating the player library (this script runs before it).
// Bodies are JSON: cookie sessions need no CSRF token for them (see playback/api.py).
"use strict";

const PLAYBACK_ENDPOINT = "/api/playback";
// What the device decodes, as the 4-letter codec families the server matches renditions by.
const CODEC_PROBES = [
  ["avc1", 'video/mp4; codecs="avc1.640028"'],
  ["hvc1", 'video/mp4; codecs="hvc1.1.6.L120.90"'],
  ["av01", 'video/mp4; codecs="av01.0.08M.08"'],
  ["vp09", 'video/mp4; codecs="vp09.00.40.08"'],
  ["mp4a", 'audio/mp4; codecs="mp4a.40.2"'],
  ["ec-3", 'audio/mp4; codecs="ec-3"'],
  ["opus", 'audio/mp4; codecs="opus"'],
];
// Where a refusal sends the viewer to fix it.
const REMEDIES = {
  "Subscription required": ["/plans", "Choose a plan"],
  "Payment overdue": ["/account", "Update the card"],
  "Too many streams": ["/", "Back to the catalogue"],
};

function deviceCapabilities() {
  const source = window.ManagedMediaSource || window.MediaSource;
  const codecs = source
    ? CODEC_PROBES.filter(([, type]) => source.isTypeSupported(type)).map(([family]) => family)
    : [];
  const height = Math.round(window.screen.height * (window.devicePixelRatio || 1));
  return {
    codecs: codecs.length ? codecs : ["avc1", "mp4a"],
    max_height: Math.min(Math.max(height, 144), 4320),
    // EME makes Clear Key mandatory: a browser with EME has it (encrypted titles use it).
    drm: navigator.requestMediaKeySystemAccess ? ["clearkey"] : [],
  };
}

async function problemOf(response) {
  try {
    return await response.json();
  } catch (_) {
    return { title: `Error ${response.status}`, detail: "" };
  }
}

class CinefluxPlayback {
  // Asks for the play of the page's title, once: a promise of { playback } or { problem }.
  // The play counts from its answer on, so it stops with the page from then (constructor).
  static begin(video) {
    if (!CinefluxPlayback.pending) CinefluxPlayback.pending = CinefluxPlayback.ask(video);
    return CinefluxPlayback.pending;
  }

  static async ask(video) {
    const request = {
      title_id: video.dataset.title,
      profile_id: video.dataset.profile,
      device: deviceCapabilities(),
    };
    const manifest = video.dataset.format === "hls" ? "hls" : "dash";
    const response = await CinefluxPlayback.post(PLAYBACK_ENDPOINT, { ...request, manifest });
    if (!response || !response.ok) {
      return { problem: response ? await problemOf(response) : { title: "Network error" } };
    }
    const playback = new CinefluxPlayback(video, request, await response.json());
    window.cinefluxPlayback = playback;
    return { playback };
  }

  // The authorised play for the player; null when refused (the page then says why).
  static async start(video, show) {
    const { playback, problem } = await CinefluxPlayback.begin(video);
    if (!playback) {
      CinefluxPlayback.refuse(video, show, problem);
      return null;
    }
    playback.show = show;
    return playback;
  }

  // The player cannot play here after all: free the stream the page asked for.
  static async abandon(video) {
    const { playback } = await CinefluxPlayback.begin(video);
    if (playback) playback.stop();
  }

  static post(url, body) {
    return fetch(url, {
      method: "POST",
      body: JSON.stringify(body),
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      credentials: "same-origin",
    }).catch(() => null);
  }

  static refuse(video, show, problem) {
    video.pause();
    video.hidden = true;
    const box = document.getElementById("playback-refused");
    box.querySelector("h2").textContent = problem.title || "Playback refused";
    box.querySelector("p").textContent = problem.detail || "";
    const remedy = REMEDIES[problem.title];
    const link = box.querySelector("a");
    link.hidden = !remedy;
    if (remedy) [link.href, link.textContent] = remedy;
    box.hidden = false;
    show(problem.title || "Playback refused");
  }

  constructor(video, request, answer) {
    this.video = video;
    this.show = () => {}; // the player's status line, once it starts (start)
    this.request = request;
    this.licence = answer.licence || null; // encrypted title: key system and licence URL
    this.adopt(answer);
    const dataset = video.dataset;
    dataset.bases = JSON.stringify(answer.base_urls);
    // The play's personalised manifest, on this API; its segments are on the ranked servers.
    // The answer carries it too (the player then needs no round trip for it).
    const kind = dataset.format === "hls" ? "hls" : "dash";
    dataset.manifest = new URL(answer.manifests[kind], window.location.origin).href;
    this.manifest = answer.manifest && answer.manifest.kind === kind ? answer.manifest : null;
    if (answer.thumbnails) dataset.thumbnails = answer.thumbnails;
    // Where the player starts (player.js); should it start at 0 all the same, a seek.
    this.resumeFrom = answer.resume_position_seconds > 0 ? answer.resume_position_seconds : null;
    if (this.resumeFrom !== null) {
      video.addEventListener("loadedmetadata", () => {
        if (video.currentTime < 1) video.currentTime = answer.resume_position_seconds;
      }, { once: true });
    }
    this.timer = window.setInterval(() => this.heartbeat(), answer.heartbeat_interval_seconds * 1000);
    window.addEventListener("pagehide", () => this.stop());
  }

  adopt(answer) {
    this.sessionId = answer.session_id;
    this.video.dataset.session = answer.session_id; // QoE reports name the same session
    this.token = answer.token;
  }

  // Every request carries the newest token: relative segment URLs inherit the one of the
  // manifest they came from, which a heartbeat has replaced since.
  renewToken(request) {
    request.uris = request.uris.map((uri) => uri.replace(/\/t\/[^/]+\//, `/t/${this.token}/`));
  }

  async heartbeat() {
    const url = `${PLAYBACK_ENDPOINT}/${this.sessionId}/heartbeat`;
    const response = await CinefluxPlayback.post(url, { position_seconds: this.video.currentTime });
    if (response === null) return; // offline for now: the next beat tries again
    if (response.ok) {
      this.adopt(await response.json());
    } else if (response.status === 410) {
      // The session lapsed (a long pause offline): ask again, which may meet the limit.
      const again = await CinefluxPlayback.post(PLAYBACK_ENDPOINT, this.request);
      if (again && again.ok) {
        this.adopt(await again.json());
      } else {
        this.end(again ? await problemOf(again) : { title: "Network error" });
      }
    } else if (response.status === 401 || response.status === 403) {
      this.end(await problemOf(response));
    }
  }

  end(problem) {
    window.clearInterval(this.timer);
    CinefluxPlayback.refuse(this.video, this.show, problem);
  }

  stop() {
    window.clearInterval(this.timer);
    const position = Math.max(0, this.video.currentTime || 0).toFixed(1);
    // keepalive lets the request outlive the page.
    fetch(`${PLAYBACK_ENDPOINT}/${this.sessionId}?position_seconds=${position}`, {
      method: "DELETE",
      credentials: "same-origin",
      keepalive: true,
    }).catch(() => {});
  }
}

window.CinefluxPlayback = CinefluxPlayback;

// Deferred, and before the player library: the page is parsed, the library not yet run.
const watchedVideo = document.getElementById("video");
if (watchedVideo && watchedVideo.dataset.title) CinefluxPlayback.begin(watchedVideo);
