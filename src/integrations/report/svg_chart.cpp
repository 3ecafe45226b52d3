#include "trainer/integrations/report/svg_chart.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

namespace trainer {

std::string format_number(double v) {
  if (!std::isfinite(v)) return std::isnan(v) ? "NaN" : (v > 0 ? "Infinity" : "-Infinity");
  char buf[32];
  const double a = std::fabs(v);
  if (a != 0 && (a < 1e-3 || a >= 1e6))
    std::snprintf(buf, sizeof(buf), "%.3g", v);
  else
    std::snprintf(buf, sizeof(buf), "%.4g", v);
  return buf;
}

std::vector<double> nice_ticks(double lo, double hi, int target) {
  if (!(hi > lo)) return {lo};
  const double raw = (hi - lo) / std::max(1, target);
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  double step = magnitude;
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (m * magnitude >= raw) {
      step = m * magnitude;
      break;
    }
  std::vector<double> ticks;
  for (double t = std::ceil(lo / step) * step; t <= hi + step * 1e-9; t += step)
    ticks.push_back(std::fabs(t) < step * 1e-9 ? 0.0 : t);
  return ticks;
}

std::string svg_line_chart(const std::vector<ChartSeries>& series, const ChartOptions& o) {
  constexpr double left = 64, right = 16, top = 34, bottom = 42;
  const double plot_w = o.width - left - right, plot_h = o.height - top - bottom;
  double x_lo = std::numeric_limits<double>::infinity(), x_hi = -x_lo, y_lo = x_lo, y_hi = -x_lo;
  size_t total = 0;
  for (const auto& s : series)
    for (const auto& [x, y] : s.points) {
      if (!std::isfinite(x) || !std::isfinite(y)) continue;
      x_lo = std::min(x_lo, x), x_hi = std::max(x_hi, x);
      y_lo = std::min(y_lo, y), y_hi = std::max(y_hi, y);
      ++total;
    }
  std::string svg = "<svg class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" width=\"" + std::to_string(o.width) +
                    "\" height=\"" + std::to_string(o.height) + "\" viewBox=\"0 0 " + std::to_string(o.width) + " " +
                    std::to_string(o.height) + "\" role=\"img\" aria-label=\"" + escape_html(o.title) + "\">";
  svg += "<text class=\"chart-title\" x=\"" + std::to_string(static_cast<int>(left)) + "\" y=\"20\">" +
         escape_html(o.title) + "</text>";
  if (total == 0) {
    svg += "<text class=\"empty\" x=\"" + std::to_string(o.width / 2) + "\" y=\"" + std::to_string(o.height / 2) +
           "\" text-anchor=\"middle\">no values logged yet</text></svg>";
    return svg;
  }
  if (x_hi == x_lo) x_lo -= 1, x_hi += 1;
  if (y_hi == y_lo) {
    const double pad = y_lo == 0 ? 1 : std::fabs(y_lo) * 0.1;
    y_lo -= pad, y_hi += pad;
  } else {
    const double pad = (y_hi - y_lo) * 0.05;
    y_lo -= pad, y_hi += pad;
  }
  auto sx = [&](double x) { return left + (x - x_lo) / (x_hi - x_lo) * plot_w; };
  auto sy = [&](double y) { return top + (1 - (y - y_lo) / (y_hi - y_lo)) * plot_h; };
  auto fmt = [](double v) {
    char buf[24];
    std::snprintf(buf, sizeof(buf), "%.1f", v);
    return std::string(buf);
  };

  svg += "<g class=\"grid\">";
  for (double t : nice_ticks(y_lo, y_hi))
    svg += "<line x1=\"" + fmt(left) + "\" x2=\"" + fmt(left + plot_w) + "\" y1=\"" + fmt(sy(t)) + "\" y2=\"" +
           fmt(sy(t)) + "\"/><text class=\"tick\" x=\"" + fmt(left - 6) + "\" y=\"" + fmt(sy(t) + 4) +
           "\" text-anchor=\"end\">" + format_number(t) + "</text>";
  for (double t : nice_ticks(x_lo, x_hi, 6))
    svg += "<text class=\"tick\" x=\"" + fmt(sx(t)) + "\" y=\"" + fmt(top + plot_h + 16) +
           "\" text-anchor=\"middle\">" + format_number(t) + "</text>";
  svg += "</g><rect class=\"frame\" x=\"" + fmt(left) + "\" y=\"" + fmt(top) + "\" width=\"" + fmt(plot_w) +
         "\" height=\"" + fmt(plot_h) + "\"/>";
  svg += "<text class=\"axis-label\" x=\"" + fmt(left + plot_w / 2) + "\" y=\"" + std::to_string(o.height - 6) +
         "\" text-anchor=\"middle\">" + escape_html(o.x_label) + "</text>";

  double legend_x = left + plot_w;
  for (auto it = series.rbegin(); it != series.rend(); ++it) {  // legend, right-aligned in the title row
    legend_x -= 14 + 7.0 * it->name.size();
    svg += "<rect x=\"" + fmt(legend_x) + "\" y=\"11\" width=\"10\" height=\"10\" fill=\"" + it->color +
           "\"/><text class=\"legend\" x=\"" + fmt(legend_x + 13) + "\" y=\"20\">" + escape_html(it->name) + "</text>";
    legend_x -= 10;
  }

  for (const auto& s : series) {
    std::string path, dots;
    bool pen_down = false;
    size_t drawn = 0;
    for (const auto& [x, y] : s.points) {
      if (!std::isfinite(x) || !std::isfinite(y)) {
        pen_down = false;  // a gap where the value was NaN or infinite
        continue;
      }
      path += (pen_down ? " L" : " M") + fmt(sx(x)) + " " + fmt(sy(y));
      pen_down = true;
      ++drawn;
      dots += "<circle cx=\"" + fmt(sx(x)) + "\" cy=\"" + fmt(sy(y)) + "\" r=\"" +
              (s.points.size() > 60 ? "1.5" : "3") + "\"><title>" + escape_html(s.name) + " " + format_number(y) +
              " at " + escape_html(o.x_label) + " " + format_number(x) + "</title></circle>";
    }
    svg += "<g class=\"series\" data-series=\"" + escape_html(s.name) + "\" data-points=\"" + std::to_string(drawn) +
           "\" stroke=\"" + s.color + "\" fill=\"" + s.color + "\"><path fill=\"none\" stroke-width=\"2.5\" d=\"" +
           path + "\"/>" + dots + "</g>";
  }
  return svg + "</svg>";
}

}  // namespace trainer
