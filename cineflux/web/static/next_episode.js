// "Next episode" on the watch page of an episode: the page renders the offer (the next
// episode and the position to offer it from: the credits, else the last 20 seconds); this
// shows it once playback gets there or ends, and moves the focus to it, so that a TV
// remote's OK (Enter) plays the next episode. Escape hides it until the next seek back.
"use strict";

function setUpNextEpisode() {
  const video = document.getElementById("video");
  const offer = document.getElementById("next-episode");
  if (!video || !offer) return;
  const link = offer.querySelector("a");
  const offerAt = offer.dataset.offerAt === "" ? null : Number(offer.dataset.offerAt);
  let dismissed = false;

  function threshold() {
    if (offerAt !== null) return offerAt;
    return Number.isFinite(video.duration) ? Math.max(0, video.duration - 20) : Infinity;
  }

  function show() {
    if (!offer.hidden || dismissed) return;
    offer.hidden = false;
    link.focus({ preventScroll: true });
  }

  function hide() {
    if (offer.hidden) return;
    if (document.activeElement === link) video.focus({ preventScroll: true });
    offer.hidden = true;
  }

  video.addEventListener("timeupdate", () => {
    if (video.currentTime >= threshold()) show();
    else {
      dismissed = false; // seeking back before the credits offers it again later
      hide();
    }
  });
  video.addEventListener("ended", () => {
    dismissed = false;
    show();
  });
  offer.addEventListener("keydown", (event) => {
    if (event.key === "Escape" || event.key === "Backspace" || event.key === "GoBack") {
      dismissed = true;
      hide();
      event.preventDefault();
    }
  });
}

if (document.readyState === "loading") {
  document.addEventListener("DOMContentLoaded", setUpNextEpisode);
} else {
  setUpNextEpisode();
}
