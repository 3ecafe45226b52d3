#pragma once
// Line charts as inline SVG: drawn when the report is written, so the page shows its plots in any
// viewer, scripts allowed or not. Each point carries a <title>, which browsers show on hover.

#include <string>
#include <utility>
#include <vector>

#include "trainer/integrations/text_output.h"  // escape_html

namespace trainer {

struct ChartSeries {
  std::string name;
  std::string color;                              // CSS colour, e.g. "#1f77b4"
  std::vector<std::pair<double, double>> points;  // (x, y); non-finite y values leave a gap
};

struct ChartOptions {
  std::string title;
  std::string x_label = "step";
  int width = 560;
  int height = 300;
};

std::string svg_line_chart(const std::vector<ChartSeries>& series, const ChartOptions& options);

// Tick positions between lo and hi at a 1, 2 or 5 x 10^k spacing, about `target` of them.
std::vector<double> nice_ticks(double lo, double hi, int target = 5);
// A number for an axis or a tooltip: up to 4 significant digits, scientific when tiny or huge.
std::string format_number(double value);

}  // namespace trainer
