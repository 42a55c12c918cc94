// Plays the page's manifest with Shaka Player (v5 track API): audio-language and subtitle
// menus, trickplay thumbnails, and a status line.
"use strict";

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
  player.configure({ preferredAudio: [{ language: document.documentElement.lang || "fr" }] });
  player.addEventListener("error", (event) => show(`Playback error ${event.detail.code}`));
  try {
    await player.load(video.dataset.manifest);
  } catch (error) {
    show(`Could not load the stream (error ${error.code ?? error})`);
    return;
  }
  if (video.dataset.thumbnails) {
    player.addThumbnailsTrack(video.dataset.thumbnails, "text/vtt").catch(() => {});
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
