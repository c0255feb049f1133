// The day's payments by hour: 24 bars drawn as SVG (no inline styles, so the CSP holds).

import { formatTotals } from "./board.js";

const SVG = "http://www.w3.org/2000/svg";
const WIDTH = 720;
const HEIGHT = 160;
const PLOT = { left: 28, right: 8, top: 12, bottom: 22 };

function element(name, attributes = {}, text) {
  const node = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, String(value));
  if (text !== undefined) node.textContent = text;
  return node;
}

function hourLabel(hour) {
  return `${String(hour).padStart(2, "0")}:00`;
}

/** Draw `hours` (from Board.hours) into `container`, marking the current hour. */
export function drawChart(container, hours, now) {
  const most = Math.max(1, ...hours.map((h) => h.count));
  const width = WIDTH - PLOT.left - PLOT.right;
  const height = HEIGHT - PLOT.top - PLOT.bottom;
  const slot = width / hours.length;
  const svg = element("svg", {
    viewBox: `0 0 ${WIDTH} ${HEIGHT}`,
    role: "img",
    "aria-label": "Payments made today, by hour",
  });
  const baseline = PLOT.top + height;
  svg.append(element("line", { class: "axis", x1: PLOT.left, x2: WIDTH - PLOT.right, y1: baseline, y2: baseline }));
  svg.append(element("text", { class: "tick", x: PLOT.left - 6, y: PLOT.top + 4, "text-anchor": "end" }, most));
  svg.append(element("text", { class: "tick", x: PLOT.left - 6, y: baseline, "text-anchor": "end" }, 0));
  hours.forEach((hour, index) => {
    const x = PLOT.left + index * slot;
    const barHeight = (hour.count / most) * height;
    const current = index === now.getHours();
    const bar = element("rect", {
      class: current ? "bar current" : "bar",
      x: x + slot * 0.15,
      y: baseline - barHeight,
      width: slot * 0.7,
      height: barHeight,
      "data-hour": index,
      "data-count": hour.count,
    });
    const payments = hour.count === 1 ? "1 payment" : `${hour.count} payments`;
    const total = hour.count ? `, ${formatTotals(hour.totals)}` : "";
    bar.append(element("title", {}, `${hourLabel(index)}–${hourLabel((index + 1) % 24)}: ${payments}${total}`));
    svg.append(bar);
    if (index % 3 === 0) {
      svg.append(element("text", { class: "tick", x: x + slot / 2, y: HEIGHT - 6, "text-anchor": "middle" }, hourLabel(index)));
    }
  });
  container.replaceChildren(svg);
}
