// Maps of the UI, on the vendored Leaflet (static/vendor/leaflet): every element with
// `data-map` becomes one. The boundaries come from /map/boundaries.geojson; options:
//   data-map-pick      click (or 使用我的位置) fills the enclosing form's lat/lon inputs
//   data-map-cases     a GeoJSON URL of case points (the /map page)
//   data-map-case      a GeoJSON URL of one case: its point and its unit (the case page)
//   data-map-levels    boundary levels to draw (default "district,street")
// Data is WGS-84 everywhere; a tile layer set up as GCJ-02 (/map/config.json) gets the
// points shifted for display and the clicks shifted back, here and nowhere else.
(function () {
  "use strict";
  if (window.cityloopMap) return; // boosted navigation may load this script again
  window.cityloopMap = true;

  var NANJING = [32.06, 118.79];
  var config = null;

  function getJSON(url) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) {
        if (!r.ok) throw new Error("HTTP " + r.status);
        return r.json();
      });
  }

  function loadConfig() {
    if (!config) config = getJSON("/map/config.json").catch(function () { return {}; });
    return config;
  }

  // ---- GCJ-02 (the offset Chinese law requires of some map providers) -------------------
  var AXIS = 6378245.0;
  var ECC = 0.00669342162296594323;

  function outOfChina(lat, lon) {
    return lon < 72.004 || lon > 137.8347 || lat < 0.8293 || lat > 55.8271;
  }
  function shiftLat(x, y) {
    var r = -100 + 2 * x + 3 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * Math.sqrt(Math.abs(x));
    r += (20 * Math.sin(6 * x * Math.PI) + 20 * Math.sin(2 * x * Math.PI)) * 2 / 3;
    r += (20 * Math.sin(y * Math.PI) + 40 * Math.sin(y / 3 * Math.PI)) * 2 / 3;
    return r + (160 * Math.sin(y / 12 * Math.PI) + 320 * Math.sin(y * Math.PI / 30)) * 2 / 3;
  }
  function shiftLon(x, y) {
    var r = 300 + x + 2 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * Math.sqrt(Math.abs(x));
    r += (20 * Math.sin(6 * x * Math.PI) + 20 * Math.sin(2 * x * Math.PI)) * 2 / 3;
    r += (20 * Math.sin(x * Math.PI) + 40 * Math.sin(x / 3 * Math.PI)) * 2 / 3;
    return r + (150 * Math.sin(x / 12 * Math.PI) + 300 * Math.sin(x / 30 * Math.PI)) * 2 / 3;
  }
  function wgsToGcj(lat, lon) {
    if (outOfChina(lat, lon)) return [lat, lon];
    var dLat = shiftLat(lon - 105, lat - 35);
    var dLon = shiftLon(lon - 105, lat - 35);
    var rad = lat / 180 * Math.PI;
    var magic = 1 - ECC * Math.sin(rad) * Math.sin(rad);
    var sqrtMagic = Math.sqrt(magic);
    dLat = (dLat * 180) / ((AXIS * (1 - ECC)) / (magic * sqrtMagic) * Math.PI);
    dLon = (dLon * 180) / (AXIS / sqrtMagic * Math.cos(rad) * Math.PI);
    return [lat + dLat, lon + dLon];
  }
  function gcjToWgs(lat, lon) { // the inverse by fixed-point iteration: well under a metre
    var w = [lat, lon];
    for (var i = 0; i < 4; i++) {
      var g = wgsToGcj(w[0], w[1]);
      w = [w[0] + lat - g[0], w[1] + lon - g[1]];
    }
    return w;
  }
  function same(lat, lon) { return [lat, lon]; }

  // ---- drawing -------------------------------------------------------------------------
  var STYLES = {
    city: { color: "#57606a", weight: 2, fill: false },
    district: { color: "#0b4a8b", weight: 2, fillOpacity: 0.04 },
    street: { color: "#1f6feb", weight: 1, dashArray: "4 3", fillOpacity: 0.02 },
    community: { color: "#8c959f", weight: 1, dashArray: "2 3", fill: false },
    grid: { color: "#afb8c1", weight: 1, dashArray: "1 3", fill: false }
  };

  function geoLayer(data, view, options) {
    return L.geoJSON(data, Object.assign({
      coordsToLatLng: function (c) { var p = view(c[1], c[0]); return L.latLng(p[0], p[1]); }
    }, options));
  }

  function drawBoundaries(map, el, view) {
    var levels = el.getAttribute("data-map-levels") || "district,street";
    return getJSON("/map/boundaries.geojson?levels=" + encodeURIComponent(levels))
      .then(function (data) {
        var layer = geoLayer(data, view, {
          interactive: false,
          style: function (f) { return STYLES[f.properties.level] || STYLES.street; }
        }).addTo(map);
        return layer;
      });
  }

  function caseMarker(feature, latlng) {
    var p = feature.properties;
    var colour = p.overdue ? "#cf222e" : "#1f6feb";
    return L.circleMarker(latlng, {
      radius: 7, color: p.exact ? "#fff" : colour, weight: 2,
      fillColor: p.exact ? colour : "#fff", fillOpacity: 1
    });
  }

  function casePopup(feature) {
    var p = feature.properties;
    var box = document.createElement("div");
    var link = document.createElement("a");
    link.href = "/cases/" + encodeURIComponent(p.ticket);
    link.textContent = p.ticket;
    var title = document.createElement("div");
    title.textContent = p.title;
    var status = document.createElement("div");
    status.textContent = p.status + (p.overdue ? " · 超期" : "") + (p.exact ? "" : " · 按所在网格显示");
    box.append(link, title, status);
    return box;
  }

  function drawCases(map, url, view, fit) {
    return getJSON(url).then(function (data) {
      var layer = geoLayer(data, view, {
        pointToLayer: caseMarker,
        style: function () { return { color: "#cf222e", weight: 2, fillOpacity: 0.08 }; },
        onEachFeature: function (f, l) { if (f.properties.ticket) l.bindPopup(casePopup(f)); }
      }).addTo(map);
      map.getContainer().setAttribute("data-cases", String(data.features.length));
      if (fit && data.features.length) map.fitBounds(layer.getBounds(), { maxZoom: 14, padding: [20, 20], animate: false });
      return layer;
    });
  }

  // ---- picking a point -----------------------------------------------------------------
  function setupPick(map, el, view, read) {
    var form = el.closest("form");
    if (!form) return false;
    var lat = form.querySelector("[name=lat]");
    var lon = form.querySelector("[name=lon]");
    var where = el.parentNode.querySelector("[data-map-where]");
    var marker = null;

    function show(fromInputs) {
      var a = parseFloat(lat.value);
      var b = parseFloat(lon.value);
      if (isNaN(a) || isNaN(b)) return false;
      var p = view(a, b);
      if (marker) marker.setLatLng(p); else marker = L.marker(p, { keyboard: false, alt: "所选点" }).addTo(map);
      if (fromInputs) map.setView(p, Math.max(map.getZoom(), 15), { animate: false });
      if (where) tellWhere(where, a, b);
      return true;
    }

    map.on("click", function (evt) {
      var w = read(evt.latlng.lat, evt.latlng.lng);
      lat.value = w[0].toFixed(6);
      lon.value = w[1].toFixed(6);
      show(false);
    });
    [lat, lon].forEach(function (input) {
      input.addEventListener("change", function () { show(true); });
    });
    el.setAttribute("data-map-picks", "true");
    return show(true);
  }

  function tellWhere(box, lat, lon) {
    box.textContent = "正在确定所在街道…";
    getJSON("/map/where?lat=" + lat + "&lon=" + lon).then(function (data) {
      var names = data.units.filter(function (u) { return u.level !== "city"; })
        .map(function (u) { return u.name; });
      box.textContent = names.length ? "所在：" + names.join(" / ") : "该点不在本市范围内";
      box.setAttribute("data-unit", data.units.length ? data.units[data.units.length - 1].id : "");
    }).catch(function () { box.textContent = ""; });
  }

  // ---- set-up --------------------------------------------------------------------------
  function initMap(el) {
    if (el.cityloopMap || typeof L === "undefined") return;
    el.cityloopMap = "loading";
    loadConfig().then(function (cfg) {
      var gcj = cfg.crs === "gcj02" && cfg.tiles;
      var view = gcj ? wgsToGcj : same;
      var read = gcj ? gcjToWgs : same;
      var map = L.map(el, {
        attributionControl: Boolean(cfg.tiles), zoomControl: false, zoomSnap: 0.5
      });
      L.control.zoom({ zoomInTitle: "放大", zoomOutTitle: "缩小" }).addTo(map);
      el.cityloopMap = map;
      map.setView(view(NANJING[0], NANJING[1]), 11);
      if (cfg.tiles) {
        L.tileLayer(cfg.tiles, {
          attribution: cfg.attribution || "", subdomains: cfg.subdomains || "01234567", maxZoom: 18
        }).addTo(map);
      }
      var focus = el.getAttribute("data-map-case");
      var cases = el.getAttribute("data-map-cases");
      var picked = el.hasAttribute("data-map-pick") && setupPick(map, el, view, read);
      drawBoundaries(map, el, view).then(function (layer) {
        if (!focus && !picked) map.fitBounds(layer.getBounds(), { animate: false });
        if (cases) return drawCases(map, cases, view, true);
        if (focus) return drawCases(map, focus, view, true);
      }).then(function () {
        el.setAttribute("data-map-ready", "true");
      }).catch(function () {
        el.setAttribute("data-map-ready", "error");
      });
    });
  }

  function initAll(root) {
    root = root || document;
    if (root.matches && root.matches("[data-map]")) initMap(root);
    if (root.querySelectorAll) root.querySelectorAll("[data-map]").forEach(initMap);
  }

  document.addEventListener("htmx:load", function (evt) { initAll(evt.detail.elt); });
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { initAll(); });
  } else {
    initAll();
  }
  window.cityloopGeo = { wgsToGcj: wgsToGcj, gcjToWgs: gcjToWgs };
})();
