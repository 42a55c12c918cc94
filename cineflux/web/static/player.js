// Plays the page's manifest with Shaka Player and reports its state in #player-status.
"use strict";

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
  player.addEventListener("error", (event) => show(`Playback error ${event.detail.code}`));
  try {
    await player.load(video.dataset.manifest);
  } catch (error) {
    show(`Could not load the stream (error ${error.code ?? error})`);
    return;
  }
  show(`Playing (${video.dataset.format.toUpperCase()})`);
  try {
    await video.play();
  } catch (_) {
    show("Press play to start.");
  }
}

document.addEventListener("DOMContentLoaded", startPlayer);
