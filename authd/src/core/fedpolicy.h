/* OpenID Federation 1.0 metadata policies (§6.1) and constraints (§6.2), pure: no I/O, no
 * clock, no logging. Works on parsed JSON (jansson) the caller owns.
 *
 * A metadata policy is an object: entity type ("openid_provider") -> parameter
 * ("id_token_signing_alg_values_supported") -> operators ({"subset_of": [...]}). The
 * standard operators are value, add, default, one_of, subset_of, superset_of and essential;
 * other operators are ignored unless a statement lists them in metadata_policy_crit, which
 * is refused (we understand no extension).
 *
 * Resolution (§6.1.4): the policies of a chain are merged top-down, the trust anchor's
 * first, each subordinate's into the result (fedpolicy_merge: the combination rules of
 * §6.1.3.1, a conflict is a policy error); every merged parameter is checked for operators
 * that cannot be combined (fedpolicy_check); then the merged policy is applied to the leaf's
 * metadata in the order value, add, default, one_of, subset_of, superset_of, essential
 * (fedpolicy_apply).
 *
 * Failures: RC_MALFORMED (an operator of the wrong JSON type, a policy that is not an
 * object), RC_DENIED (a combination or merge that is not allowed, metadata the policy
 * refuses, a constraint broken), RC_UNSUPPORTED (a critical operator we do not know),
 * RC_NOMEM; every one with reason RC_WHY_FED_POLICY (constraints: RC_WHY_FED_CONSTRAINT)
 * and ri->field naming the operator. */
#ifndef AUTHD_CORE_FEDPOLICY_H
#define AUTHD_CORE_FEDPOLICY_H

#include <jansson.h>
#include <stddef.h>

#include "util/rc.h"

#define FEDPOLICY_MAX_DEPTH 8 /* statements in a chain we resolve (anchor included) */

/* Merges sup (one statement's metadata_policy; NULL or absent: nothing) into acc (an
 * object, the policies of the superiors merged so far; starts empty), in place. On failure
 * acc is left half merged: the caller throws it away. */
enum rc fedpolicy_merge(json_t *acc, const json_t *sup, struct rc_info *ri);

/* Checks every parameter of a merged policy for operator combinations §6.1.3.1 forbids
 * (add with one_of, one_of with subset_of or superset_of, a value outside its one_of ...). */
enum rc fedpolicy_check(const json_t *policy, struct rc_info *ri);

/* Applies a merged, checked policy to metadata (entity type -> parameters), in place.
 * Policies of entity types metadata does not have are ignored. */
enum rc fedpolicy_apply(const json_t *policy, json_t *metadata, struct rc_info *ri);

/* Refuses a statement whose metadata_policy_crit names an operator we do not implement.
 * crit may be NULL. */
enum rc fedpolicy_crit_check(const json_t *crit, struct rc_info *ri);

/* The constraints (§6.2) a superior's statement puts on the chain below it: below is the
 * number of intermediates between that statement's subject and the leaf (0: the subject is
 * the leaf), ids the entity ids of the subject and everything below it (n of them, the leaf
 * last), leaf_metadata the leaf's metadata: max_path_length (below must not exceed it),
 * naming_constraints (permitted / excluded host names, RFC 5280 §4.2.1.10 style: "host" is
 * exact, ".host" any name under it), allowed_entity_types (other entity types are removed
 * from leaf_metadata, federation_entity always stays). constraints NULL: nothing. */
enum rc fedpolicy_constraints(const json_t *constraints, size_t below, const char *const *ids,
                              size_t n, json_t *leaf_metadata, struct rc_info *ri);

#endif
