/* Plan stage: the exact solver. The plan problem becomes a 0-1 program for GLPK
 * (x_j = 1 when option j is chosen; sum of x over each unit's options = 1; sum of
 * cost_c x <= limit_c for each limit; maximize sum of value x), solved by glp_simplex
 * and glp_intopt's branch and bound under a time limit, with the fast solver's plan
 * handed in as the first incumbent so a stop at the time limit never returns less. */
#include <glpk.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/intl.h"
#include "plan/solve_internal.h"

typedef struct exact_callback {
  const plan_view *v;
  const size_t *start_plan;   /* [n_units] the fast plan, offered once */
  double *x;                  /* [1 + n_options] scratch for glp_ios_heur_sol */
  bool offered;
  double bound;               /* best bound over the open nodes at the last call */
  bool has_bound;
  int n_nodes;                /* nodes created so far */
  const promo_context *ctx;
} exact_callback;

static void on_tree(glp_tree *tree, void *info) {
  exact_callback *cb = info;
  if (glp_ios_reason(tree) == GLP_IHEUR && !cb->offered) {
    cb->offered = true;
    memset(cb->x, 0, (cb->v->n_options + 1) * sizeof *cb->x);
    for (size_t u = 0; u < cb->v->p->n_units; u++) cb->x[1 + cb->start_plan[u]] = 1.0;
    glp_ios_heur_sol(tree, cb->x);
  }
  int node = glp_ios_best_node(tree);
  if (node != 0) {
    cb->bound = glp_ios_node_bound(tree, node);
    cb->has_bound = true;
  }
  glp_ios_tree_size(tree, NULL, NULL, &cb->n_nodes);
  if (promo_cancelled(cb->ctx)) glp_ios_terminate(tree);
}

/* Load rows, columns and the matrix into a new problem; NULL when out of memory. */
static glp_prob *build_program(const plan_view *v) {
  const promo_plan_problem *p = v->p;
  size_t nnz = 0;
  for (size_t u = 0; u < p->n_units; u++)
    nnz += (p->option_start[u + 1] - p->option_start[u]) * (1 + v->cover_start[u + 1] - v->cover_start[u]);
  if (p->n_units + p->n_constraints > INT32_MAX || v->n_options > INT32_MAX || nnz >= INT32_MAX) return NULL;
  int *ia = malloc((nnz + 1) * sizeof *ia), *ja = malloc((nnz + 1) * sizeof *ja);
  double *ar = malloc((nnz + 1) * sizeof *ar);
  glp_prob *lp = ia && ja && ar ? glp_create_prob() : NULL;
  if (lp == NULL) goto done;

  glp_set_obj_dir(lp, GLP_MAX);
  if (p->n_units + p->n_constraints > 0) glp_add_rows(lp, (int)(p->n_units + p->n_constraints));
  if (v->n_options > 0) glp_add_cols(lp, (int)v->n_options);
  for (size_t u = 0; u < p->n_units; u++) glp_set_row_bnds(lp, (int)u + 1, GLP_FX, 1.0, 1.0);
  for (size_t c = 0; c < p->n_constraints; c++)
    glp_set_row_bnds(lp, (int)(p->n_units + c) + 1, GLP_UP, 0.0, p->constraints[c].limit);

  size_t k = 0;
  for (size_t u = 0; u < p->n_units; u++) {
    for (size_t j = p->option_start[u]; j < p->option_start[u + 1]; j++) {
      int col = (int)j + 1;
      glp_set_col_kind(lp, col, GLP_BV);
      glp_set_obj_coef(lp, col, p->value[j]);
      k++;
      ia[k] = (int)u + 1, ja[k] = col, ar[k] = 1.0;
      for (size_t q = v->cover_start[u]; q < v->cover_start[u + 1]; q++) {
        double a = plan_cost(v, j, v->cover[q]);
        if (a == 0.0) continue;
        k++;
        ia[k] = (int)(p->n_units + v->cover[q]) + 1, ja[k] = col, ar[k] = a;
      }
    }
  }
  glp_load_matrix(lp, (int)k, ia, ja, ar);

done:
  free(ia);
  free(ja);
  free(ar);
  return lp;
}

/* Read GLPK's integer solution into choice; false when some unit has no chosen option. */
static bool read_plan(const plan_view *v, glp_prob *lp, size_t *choice) {
  const promo_plan_problem *p = v->p;
  for (size_t u = 0; u < p->n_units; u++) {
    bool found = false;
    for (size_t j = p->option_start[u]; j < p->option_start[u + 1] && !found; j++) {
      if (glp_mip_col_val(lp, (int)j + 1) > 0.5) {
        choice[u] = j;
        found = true;
      }
    }
    if (!found) return false;
  }
  return true;
}

static int milliseconds_left(double deadline_ms) {
  double left = deadline_ms - promo_now_ms();
  if (left < 1.0) return 1;
  return left > (double)INT32_MAX ? INT32_MAX : (int)left;
}

promo_status plan_solve_exact(const plan_view *v, const promo_plan_solve_options *opt,
                              const promo_context *ctx, size_t *choice, double *value,
                              double *bound, bool *is_optimal, size_t *n_nodes, promo_error *err) {
  *is_optimal = false;
  *n_nodes = 0;
  if (!(opt->time_limit_s > 0) || !(opt->mip_gap >= 0))
    return promo_error_set(err, PROMO_ERR_USAGE, _("invalid exact solver settings: time limit %g s, "
                                                   "gap %g; give a positive time and a gap >= 0"),
                           opt->time_limit_s, opt->mip_gap);
  double deadline = promo_now_ms() + 1000.0 * opt->time_limit_s;
  int was_on = glp_term_out(GLP_OFF);
  glp_prob *lp = build_program(v);
  double *x = malloc((v->n_options + 1) * sizeof *x);
  promo_status st = PROMO_OK;
  if (lp == NULL || x == NULL) {
    st = promo_error_set(err, PROMO_ERR_NOMEM, "%s",
                         _("out of memory, or the problem is too large for the exact solver"));
    goto done;
  }

  glp_smcp lp_parm;
  glp_init_smcp(&lp_parm);
  lp_parm.msg_lev = GLP_MSG_OFF;
  lp_parm.presolve = GLP_ON;
  lp_parm.tm_lim = milliseconds_left(deadline);
  int rc = glp_simplex(lp, &lp_parm);
  if (rc != 0 || glp_get_status(lp) != GLP_OPT) {
    promo_log(ctx, PROMO_LOG_WARN, _("the exact solver stopped before solving the LP relaxation "
                                     "(GLPK code %d); the fast plan is kept"),
              rc);
    goto done;
  }
  if (glp_get_obj_val(lp) < *bound) *bound = glp_get_obj_val(lp);

  exact_callback cb = {v, choice, x, false, 0.0, false, 0, ctx};
  glp_iocp parm;
  glp_init_iocp(&parm);
  parm.msg_lev = GLP_MSG_OFF;
  parm.tm_lim = milliseconds_left(deadline);
  parm.mip_gap = opt->mip_gap;
  parm.cb_func = on_tree;
  parm.cb_info = &cb;
  rc = glp_intopt(lp, &parm);
  int status = glp_mip_status(lp);
  promo_log(ctx, PROMO_LOG_DEBUG, "plan exact glpk_rc=%d status=%d", rc, status);
  if ((status == GLP_OPT || status == GLP_FEAS) && glp_mip_obj_val(lp) >= *value - 1e-9 * fabs(*value) &&
      read_plan(v, lp, choice))
    *value = glp_mip_obj_val(lp);
  if (rc == 0 && status == GLP_OPT) {
    *is_optimal = true;
    if (*value < *bound) *bound = *value;
  } else if (rc == GLP_EMIPGAP) {
    /* GLPK stopped at the gap tolerance: optimal within mip_gap of its best bound. */
    *is_optimal = true;
    double within = *value + opt->mip_gap * fabs(*value);
    if (cb.has_bound && cb.bound < within) within = cb.bound;
    if (within < *bound) *bound = within;
  } else if (cb.has_bound && cb.bound < *bound) {
    *bound = cb.bound;
  }
  if (rc == GLP_ETMLIM)
    promo_log(ctx, PROMO_LOG_WARN, _("the exact solver reached its time limit of %g s; the plan "
                                     "may not be optimal (see the gap)"),
              opt->time_limit_s);
  if (rc == GLP_ESTOP && promo_cancelled(ctx))
    st = promo_error_set(err, PROMO_ERR_CANCELLED, "%s", _("cancelled"));
  *n_nodes = (size_t)cb.n_nodes;

done:
  if (lp != NULL) glp_delete_prob(lp);
  free(x);
  glp_term_out(was_on);
  return st;
}
