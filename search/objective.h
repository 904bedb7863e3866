// Training-free objectives: the entropy of a candidate's transformer at Gaussian initialisation
// (derivation in docs/NAS.md), with DeepMAD's effectiveness constraint and a penalty on unequal
// block depths. An objective is a plain function, looked up by name, so variants can be
// compared with `merino search --objective NAME` on the same budgets and seed.
#pragma once
#include <string>
#include <vector>

#include "search/space.h"

namespace merino::search {

struct ObjectiveParams {
  double attention_weight = 1.0;  // weight of the attention sub-space entropy
  double ffn_weight = 1.0;        // weight of the FFN sub-space entropy
  double projection_weight = 1.0;  // weight of the width projections (proj_in, lm_proj); 0: off
  double rho_max = 0.3;           // effectiveness bound rho0
  double depth_penalty = 0.5;     // gamma in exp(-gamma * cv^2) on block depths
};

struct ObjectiveValue {
  double entropy = 0;      // weighted sub-space entropy, nats (before the depth penalty)
  double rho = 0;          // effectiveness: linear-map depth / geometric-mean fan-in
  double score = 0;        // what the search maximises
  bool effective = false;  // rho <= rho_max
};

using ObjectiveFn = ObjectiveValue (*)(const Candidate&, const ObjectiveParams&);

struct Objective {
  const char* name;
  ObjectiveFn fn;
};

const std::vector<Objective>& objectives();
// Throws ConfigError listing the known names.
const Objective& find_objective(const std::string& name);

}  // namespace merino::search
