#include "trainer/core/json.h"

#include <gtest/gtest.h>

#include <cmath>

namespace trainer {
namespace {

TEST(PythonFloatRepr, MatchesPythonRepr) {
  // Expected strings are what CPython's repr() prints for the same doubles.
  EXPECT_EQ(python_float_repr(5e-05), "5e-05");
  EXPECT_EQ(python_float_repr(0.4), "0.4");
  EXPECT_EQ(python_float_repr(2.0), "2.0");
  EXPECT_EQ(python_float_repr(1234.0), "1234.0");
  EXPECT_EQ(python_float_repr(0.1 + 0.2), "0.30000000000000004");
  EXPECT_EQ(python_float_repr(1e16), "1e+16");
  EXPECT_EQ(python_float_repr(1e15), "1000000000000000.0");
  EXPECT_EQ(python_float_repr(1234567890123456.0), "1234567890123456.0");
  EXPECT_EQ(python_float_repr(1.2345678901234568e+17), "1.2345678901234568e+17");
  EXPECT_EQ(python_float_repr(0.0001), "0.0001");
  EXPECT_EQ(python_float_repr(1e-05), "1e-05");
  EXPECT_EQ(python_float_repr(1e-07), "1e-07");
  EXPECT_EQ(python_float_repr(-1.5), "-1.5");
  EXPECT_EQ(python_float_repr(0.0), "0.0");
  EXPECT_EQ(python_float_repr(-0.0), "-0.0");
  EXPECT_EQ(python_float_repr(NAN), "NaN");
  EXPECT_EQ(python_float_repr(INFINITY), "Infinity");
  EXPECT_EQ(python_float_repr(-INFINITY), "-Infinity");
  EXPECT_EQ(python_float_repr(123.456), "123.456");
  EXPECT_EQ(python_float_repr(1e22), "1e+22");
}

TEST(DumpJson, IndentsAndSortsLikePython) {
  Json v = Json::object();
  v["b"] = Json::array({1, 2.5});
  v["a"] = Json::object();
  v["c"] = Json::array();
  v["d"] = nullptr;
  v["e"] = "caf\xc3\xa9";
  EXPECT_EQ(
      dump_json(v),
      "{\n  \"a\": {},\n  \"b\": [\n    1,\n    2.5\n  ],\n  \"c\": [],\n  \"d\": null,\n  \"e\": \"caf\\u00e9\"\n}");
  EXPECT_EQ(dump_json(v, {-1, false, false}),
            "{\"b\": [1, 2.5], \"a\": {}, \"c\": [], \"d\": null, \"e\": \"caf\xc3\xa9\"}");
}

TEST(DumpJson, EscapesControlAndAstralCharacters) {
  Json v = std::string("a\"b\\c\n\t\x01") + "\xf0\x9f\x98\x80";
  EXPECT_EQ(dump_json(v), "\"a\\\"b\\\\c\\n\\t\\u0001\\ud83d\\ude00\"");
}

TEST(ParseJson, AcceptsPythonNonFiniteTokensOutsideStrings) {
  Json v = parse_json(R"({"a": NaN, "b": [Infinity, -Infinity], "c": "NaN Infinity"})");
  EXPECT_TRUE(std::isnan(v["a"].get<double>()));
  EXPECT_EQ(v["b"][0].get<double>(), INFINITY);
  EXPECT_EQ(v["b"][1].get<double>(), -INFINITY);
  EXPECT_EQ(v["c"].get<std::string>(), "NaN Infinity");
  EXPECT_EQ(dump_json(v, {-1, true, true}), R"({"a": NaN, "b": [Infinity, -Infinity], "c": "NaN Infinity"})");
}

TEST(ParseJson, ErrorsNameTheSourceAndLine) {
  try {
    parse_json("{\n  \"a\": 1,\n  \"b\": ]\n}", "state.json");
    FAIL() << "expected an error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("state.json:3"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace trainer
