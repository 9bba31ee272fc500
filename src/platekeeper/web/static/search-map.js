/* A small SVG map for search, canvass and the location report. No tiles (a city network may be closed):
   cameras, reads, the search circle or polygon, on a latitude/longitude grid. Click to set the area. */
(function () {
  "use strict";
  var map = document.getElementById("map");
  if (!map) { return; }
  var NS = "http://www.w3.org/2000/svg";
  var W = 900, H = 380, EARTH = 6371008.8;
  var mode = map.getAttribute("data-mode");
  var cameras = [];
  try { cameras = JSON.parse(map.getAttribute("data-cameras") || "[]"); } catch (e) { cameras = []; }
  var latField = document.getElementById("area-lat");
  var lonField = document.getElementById("area-lon");
  var radiusField = document.getElementById("area-radius");
  var polygonField = document.getElementById("area-polygon");
  var drawing = false;

  function num(v) { var n = parseFloat(v); return isNaN(n) ? null : n; }
  function reads() {
    var rows = document.querySelectorAll("tr.hit");
    var out = [];
    for (var i = 0; i < rows.length; i++) {
      var lat = num(rows[i].getAttribute("data-lat")), lon = num(rows[i].getAttribute("data-lon"));
      if (lat !== null && lon !== null) { out.push({lat: lat, lon: lon, label: rows[i].getAttribute("data-plate")}); }
    }
    return out;
  }
  function circle() {
    var lat = latField ? num(latField.value) : num(map.getAttribute("data-circle-lat"));
    var lon = lonField ? num(lonField.value) : num(map.getAttribute("data-circle-lon"));
    var r = radiusField ? num(radiusField.value) : num(map.getAttribute("data-circle-radius"));
    return lat !== null && lon !== null ? {lat: lat, lon: lon, r: r || 0} : null;
  }
  function polygon() {
    if (!polygonField || !polygonField.value) { return []; }
    return polygonField.value.split(";").filter(Boolean).map(function (p) {
      var xy = p.split(","); return {lat: num(xy[0]), lon: num(xy[1])};
    }).filter(function (p) { return p.lat !== null && p.lon !== null; });
  }
  function bounds(points) {
    var b = {s: 90, n: -90, w: 180, e: -180};
    points.forEach(function (p) {
      b.s = Math.min(b.s, p.lat); b.n = Math.max(b.n, p.lat); b.w = Math.min(b.w, p.lon); b.e = Math.max(b.e, p.lon);
    });
    if (b.s > b.n) { b = {s: 37.25, n: 37.40, w: -121.98, e: -121.78}; }
    var padLat = Math.max((b.n - b.s) * 0.12, 0.004), padLon = Math.max((b.e - b.w) * 0.12, 0.005);
    return {s: b.s - padLat, n: b.n + padLat, w: b.w - padLon, e: b.e + padLon};
  }
  function el(name, attrs, parent) {
    var node = document.createElementNS(NS, name);
    Object.keys(attrs).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (parent) { parent.appendChild(node); }
    return node;
  }
  function draw() {
    var c = circle(), poly = polygon(), pts = reads();
    var all = pts.concat(cameras.filter(function (k) { return k.lat !== null; }), poly);
    if (c) {
      var dLat = (c.r / EARTH) * 180 / Math.PI, dLon = dLat / Math.cos(c.lat * Math.PI / 180);
      all.push({lat: c.lat - dLat, lon: c.lon - dLon}, {lat: c.lat + dLat, lon: c.lon + dLon});
    }
    var b = bounds(all);
    var k = Math.cos(((b.s + b.n) / 2) * Math.PI / 180);
    var scale = Math.min(W / ((b.e - b.w) * k), H / (b.n - b.s));
    function x(lon) { return (lon - b.w) * k * scale; }
    function y(lat) { return (b.n - lat) * scale; }
    map.textContent = "";
    var svg = el("svg", {viewBox: "0 0 " + W + " " + H, role: "img", "class": "map-svg"}, map);
    el("rect", {x: 0, y: 0, width: W, height: H, "class": "map-bg"}, svg);
    var step = Math.pow(10, Math.floor(Math.log10(Math.max(b.n - b.s, 0.001)))) / 2;
    for (var la = Math.ceil(b.s / step) * step; la < b.n; la += step) {
      el("line", {x1: 0, x2: W, y1: y(la), y2: y(la), "class": "map-grid"}, svg);
    }
    for (var lo = Math.ceil(b.w / step) * step; lo < b.e; lo += step) {
      el("line", {y1: 0, y2: H, x1: x(lo), x2: x(lo), "class": "map-grid"}, svg);
    }
    cameras.forEach(function (cam) {
      if (cam.lat === null || cam.lon === null) { return; }
      var r = el("rect", {x: x(cam.lon) - 4, y: y(cam.lat) - 4, width: 8, height: 8, "class": "map-camera"}, svg);
      el("title", {}, r).textContent = "Camera " + cam.name;
    });
    if (c && c.r > 0) {
      var ring = [];
      for (var i = 0; i <= 48; i++) {
        var a = 2 * Math.PI * i / 48;
        var lat = c.lat + (c.r * Math.cos(a) / EARTH) * 180 / Math.PI;
        var lon = c.lon + (c.r * Math.sin(a) / EARTH) * 180 / Math.PI / Math.cos(c.lat * Math.PI / 180);
        ring.push(x(lon).toFixed(1) + "," + y(lat).toFixed(1));
      }
      el("polygon", {points: ring.join(" "), "class": "map-area"}, svg);
    }
    if (c) { el("circle", {cx: x(c.lon), cy: y(c.lat), r: 6, "class": "map-scene", id: "map-scene"}, svg); }
    if (poly.length) {
      el("polygon", {points: poly.map(function (p) { return x(p.lon) + "," + y(p.lat); }).join(" "), "class": "map-area"}, svg);
    }
    pts.forEach(function (p) {
      var dot = el("circle", {cx: x(p.lon), cy: y(p.lat), r: 5, "class": "map-read"}, svg);
      el("title", {}, dot).textContent = p.label;
    });
    svg.addEventListener("click", function (ev) {
      var box = svg.getBoundingClientRect();
      var px = (ev.clientX - box.left) * W / box.width, py = (ev.clientY - box.top) * H / box.height;
      var lat = (b.n - py / scale).toFixed(6), lon = (b.w + px / (k * scale)).toFixed(6);
      if (drawing && polygonField) {
        polygonField.value = (polygonField.value ? polygonField.value + ";" : "") + lat + "," + lon;
      } else if (latField && lonField && mode !== "locations") {
        latField.value = lat; lonField.value = lon;
        if (radiusField && !radiusField.value) { radiusField.value = "500"; }
        if (polygonField) { polygonField.value = ""; }
      }
      draw();
    });
  }
  var drawButton = document.getElementById("draw-polygon");
  if (drawButton) {
    drawButton.addEventListener("click", function () {
      drawing = !drawing;
      drawButton.textContent = drawing ? "Finish the polygon" : "Draw a polygon";
      if (drawing && latField) { latField.value = ""; lonField.value = ""; radiusField.value = ""; polygonField.value = ""; }
      draw();
    });
  }
  var clear = document.getElementById("clear-area");
  if (clear) {
    clear.addEventListener("click", function () {
      [latField, lonField, radiusField, polygonField].forEach(function (f) { if (f) { f.value = ""; } });
      draw();
    });
  }
  [latField, lonField, radiusField, polygonField].forEach(function (f) { if (f) { f.addEventListener("change", draw); } });
  draw();
}());
