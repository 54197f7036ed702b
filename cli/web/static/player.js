/*
 * The player of `vpipe serve`'s watch page: hls.js or dash.js on one <video>,
 * a rung selector, the tracks the player found, and `window.vpipePlayer`, the
 * small API the browser tests drive the real players through:
 *
 *   load(kind)     'hls' | 'dash': (re)creates that player; resolves once the manifest is parsed
 *   levels()       [{index, id, width, height, bitrate}] as the player lists the video rungs
 *   setLevel(i)    force rung i (an index into levels()); -1: automatic
 *   audioTracks(), textTracks()   [{id, language, name}]
 *   seek(t)        seconds
 *   errors         fatal player and <video> errors (strings); warnings: the rest
 *   state()        {kind, currentTime, duration, ended, videoEnded, paused, readyState, level, auto, videoWidth, videoHeight}
 *                  (ended: the element ended, or dash.js reported the end and parked it there; videoEnded: the element's own flag)
 *
 * Plain browser script, no build step; everything shown is set as text
 * (textContent), never as HTML.
 */
(function () {
  'use strict';
  var cfg = JSON.parse(document.getElementById('vpipe-config').textContent);
  var video = document.getElementById('video');
  var rungSelect = document.getElementById('rung');
  var statusEl = document.getElementById('status');
  var errorsEl = document.getElementById('errors');
  var kind = null;
  var hls = null;
  var dash = null;
  var auto = true;
  // dash.js's own end-of-stream check (PLAYBACK_ENDED) can win the race with the element's `ended`:
  // it then parks the element, paused, at the end, where `video.ended` may stay false. Seen parked
  // up to half a second before the duration (dash.js 5's 200 ms end check, then its own seek), so
  // that is the tolerance.
  var playerEnded = false;
  var errors = [];
  var warnings = [];

  function problem(message, fatal) {
    (fatal ? errors : warnings).push(message);
    if (!fatal) return;
    var li = document.createElement('li');
    li.textContent = message;
    errorsEl.appendChild(li);
  }

  video.addEventListener('play', function () { playerEnded = false; });
  video.addEventListener('error', function () {
    var e = video.error;
    if (e) problem('video element: ' + e.code + ' ' + (e.message || ''), true);
  });

  function destroy() {
    if (hls) hls.destroy();
    if (dash) dash.destroy();
    hls = dash = null;
    kind = null;
    auto = true;
    playerEnded = false;
    errors.length = 0;
    warnings.length = 0;
    errorsEl.textContent = '';
  }

  function levels() {
    if (hls) {
      return hls.levels.map(function (l, i) {
        return { index: i, id: String(i), width: l.width, height: l.height, bitrate: l.bitrate };
      });
    }
    if (dash) {
      return dash.getRepresentationsByType('video').map(function (r, i) {
        return { index: i, id: String(r.id), width: r.width, height: r.height, bitrate: r.bandwidth };
      });
    }
    return [];
  }

  function currentLevel() {
    if (hls) return hls.currentLevel;
    if (dash) {
      var rep = dash.getCurrentRepresentationForType('video');
      if (!rep) return -1;
      return levels().findIndex(function (l) { return l.id === String(rep.id); });
    }
    return -1;
  }

  function setLevel(i) {
    var list = levels();
    if (i >= list.length) throw new Error('no rung ' + i + ' (' + list.length + ' rungs)');
    auto = i < 0;
    if (hls) {
      // currentLevel switches at once (the buffer ahead is flushed); -1 hands the choice back to ABR.
      hls.currentLevel = i;
    } else if (dash) {
      dash.updateSettings({ streaming: { abr: { autoSwitchBitrate: { video: auto } } } });
      // forceReplace: replace what is buffered ahead, so the switch shows without waiting for the buffer to drain.
      if (!auto) dash.setRepresentationForTypeById('video', list[i].id, true);
    }
    rungSelect.value = String(i);
  }

  function dashLabel(t) {
    var l = t.labels && t.labels[0];
    return l ? (typeof l === 'string' ? l : l.text || '') : '';
  }

  function audioTracks() {
    if (hls) return (hls.audioTracks || []).map(function (t) { return { id: String(t.id), language: t.lang || '', name: t.name || '' }; });
    if (dash) return (dash.getTracksFor('audio') || []).map(function (t) { return { id: String(t.id), language: t.lang || '', name: dashLabel(t) }; });
    return [];
  }

  function textTracks() {
    if (hls) return (hls.subtitleTracks || []).map(function (t) { return { id: String(t.id), language: t.lang || '', name: t.name || '' }; });
    if (dash) return (dash.getTracksFor('text') || []).map(function (t) { return { id: String(t.id), language: t.lang || '', name: dashLabel(t) }; });
    return [];
  }

  function state() {
    return {
      kind: kind,
      currentTime: video.currentTime,
      duration: video.duration,
      ended: video.ended || (playerEnded && video.currentTime >= video.duration - 0.6),
      videoEnded: video.ended,
      paused: video.paused,
      readyState: video.readyState,
      level: currentLevel(),
      auto: auto,
      videoWidth: video.videoWidth,
      videoHeight: video.videoHeight,
    };
  }

  function renderTracks() {
    var fill = function (id, list) {
      var ul = document.getElementById(id);
      ul.textContent = '';
      list.forEach(function (t) {
        var li = document.createElement('li');
        li.textContent = (t.language || '?') + ' — ' + (t.name || '(no name)');
        ul.appendChild(li);
      });
      if (!list.length) ul.textContent = 'none';
    };
    fill('audio-tracks', audioTracks());
    fill('text-tracks', textTracks());
  }

  function renderRungs() {
    rungSelect.textContent = '';
    var opt = document.createElement('option');
    opt.value = '-1';
    opt.textContent = 'auto';
    rungSelect.appendChild(opt);
    levels().forEach(function (l) {
      var o = document.createElement('option');
      o.value = String(l.index);
      o.textContent = l.width + 'x' + l.height + ' · ' + Math.round(l.bitrate / 1000) + ' kb/s';
      rungSelect.appendChild(o);
    });
    rungSelect.value = '-1';
  }

  function renderStatus() {
    if (!kind) return;
    var s = state();
    var l = levels()[s.level];
    statusEl.textContent = kind.toUpperCase() + ' · ' + (l ? l.width + 'x' + l.height : '?') + (s.auto ? ' (auto)' : ' (forced)') +
      ' · showing ' + s.videoWidth + 'x' + s.videoHeight + ' · ' + s.currentTime.toFixed(1) + ' / ' + (isFinite(s.duration) ? s.duration.toFixed(1) : '?') + ' s' +
      (s.ended ? ' · ended' : s.paused ? ' · paused' : '');
  }

  function startPlaying() {
    var p = video.play();
    if (p && p.catch) p.catch(function (e) { warnings.push('play(): ' + e.message); statusEl.textContent = 'press play'; });
  }

  function load(k) {
    destroy();
    var url = cfg[k];
    if (!url) return Promise.reject(new Error('this package has no ' + k + ' manifest'));
    kind = k;
    document.querySelectorAll('button[data-kind]').forEach(function (b) { b.classList.toggle('active', b.dataset.kind === k); });
    return new Promise(function (resolve, reject) {
      var settled = false;
      var ready = function () {
        if (settled) return;
        settled = true;
        renderRungs();
        renderTracks();
        startPlaying();
        resolve();
      };
      var fail = function (message) {
        problem(message, true);
        if (!settled) { settled = true; reject(new Error(message)); }
      };
      if (k === 'hls') {
        if (!window.Hls || !Hls.isSupported()) return fail('hls.js: Media Source Extensions are not available');
        hls = new Hls({ enableWorker: true });
        hls.on(Hls.Events.ERROR, function (_e, d) {
          var m = 'hls.js ' + d.type + '/' + d.details + (d.reason ? ': ' + d.reason : '');
          if (d.fatal) fail(m); else problem(m, false);
        });
        hls.on(Hls.Events.MANIFEST_PARSED, ready);
        hls.on(Hls.Events.AUDIO_TRACKS_UPDATED, renderTracks);
        hls.on(Hls.Events.SUBTITLE_TRACKS_UPDATED, renderTracks);
        hls.loadSource(url);
        hls.attachMedia(video);
      } else {
        if (!window.dashjs) return fail('dash.js did not load');
        dash = dashjs.MediaPlayer().create();
        dash.updateSettings({ debug: { logLevel: dashjs.Debug.LOG_LEVEL_WARNING }, streaming: { abr: { autoSwitchBitrate: { video: true } } } });
        var ev = dashjs.MediaPlayer.events;
        dash.on(ev.ERROR, function (e) {
          var err = e.error || {};
          fail('dash.js ' + (err.code !== undefined ? err.code + ' ' : '') + (err.message || String(e.error)));
        });
        dash.on(ev.PLAYBACK_ERROR, function (e) { fail('dash.js playback: ' + (e.error && e.error.message ? e.error.message : String(e.error))); });
        dash.on(ev.STREAM_INITIALIZED, ready);
        dash.on(ev.PLAYBACK_ENDED, function () { playerEnded = true; });
        dash.initialize(video, url, false);
      }
    });
  }

  document.querySelectorAll('button[data-kind]').forEach(function (b) {
    b.addEventListener('click', function () { load(b.dataset.kind).catch(function () {}); });
  });
  rungSelect.addEventListener('change', function () { setLevel(Number(rungSelect.value)); });
  setInterval(renderStatus, 250);

  window.vpipePlayer = {
    load: load,
    levels: levels,
    setLevel: setLevel,
    audioTracks: audioTracks,
    textTracks: textTracks,
    seek: function (t) { video.currentTime = t; },
    errors: errors,
    warnings: warnings,
    state: state,
  };

  if (cfg.play !== 'none' && cfg[cfg.play]) load(cfg.play).catch(function () {});
})();
