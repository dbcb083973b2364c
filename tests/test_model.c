/* Tests of the model glue: save and load of network, pipeline and training record, and
 * rejection of files that miss metadata or whose tensor shapes do not match. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "promo/data.h"
#include "promo/feature.h"
#include "promo/model.h"

typedef struct fixture {
  char dir[64], csv[96], model[96], other[96];
  promo_nn *nn;
  promo_pipeline *pipeline;
  promo_matrix m;
  float pred[40];
} fixture;

/* 40 rows: a number, a category and a 0/1 target that depends on both. */
static int setup(void **state) {
  fixture *f = calloc(1, sizeof *f);
  assert_non_null(f);
  snprintf(f->dir, sizeof f->dir, "/tmp/promo_test_model_XXXXXX");
  assert_non_null(mkdtemp(f->dir));
  snprintf(f->csv, sizeof f->csv, "%s/d.csv", f->dir);
  snprintf(f->model, sizeof f->model, "%s/m.promo", f->dir);
  snprintf(f->other, sizeof f->other, "%s/o.promo", f->dir);
  FILE *fp = fopen(f->csv, "w");
  assert_non_null(fp);
  fputs("x,city,y\n", fp);
  const char *cities[] = {"Beijing", "Shanghai", "Chengdu"};
  for (int r = 0; r < 40; r++) fprintf(fp, "%d.5,%s,%d\n", r % 7, cities[r % 3], (r % 7 + r % 3) > 4);
  assert_int_equal(fclose(fp), 0);

  promo_error err;
  promo_table *t = NULL;
  promo_load_options load;
  promo_load_options_init(&load);
  assert_int_equal(promo_table_load(f->csv, &load, NULL, &t, &err), PROMO_OK);
  promo_pipeline_options opt;
  promo_pipeline_options_init(&opt);
  opt.target = "y";
  promo_pipeline_data data = {t, f->csv, NULL, NULL};
  assert_int_equal(promo_pipeline_fit_transform(&data, &opt, NULL, &f->pipeline, &f->m, &err), PROMO_OK);
  float y[40];
  for (size_t r = 0; r < 40; r++) y[r] = (float)t->columns[2].ints[r];
  promo_table_free(t);

  promo_nn_options nn_opt;
  promo_nn_options_init(&nn_opt);
  nn_opt.n_hidden = 1;
  nn_opt.hidden[0] = 4;
  nn_opt.epochs = 2;
  assert_int_equal(promo_nn_create(f->m.n_columns, &nn_opt, &f->nn, &err), PROMO_OK);
  promo_nn_history history = {0};
  assert_int_equal(promo_nn_fit(f->nn, f->m.X, y, 40, NULL, NULL, 0, NULL, &history, &err), PROMO_OK);
  promo_nn_history_clear(&history);
  assert_int_equal(promo_nn_predict(f->nn, f->m.X, 40, f->pred, NULL, &err), PROMO_OK);
  json_t *training = json_pack("{s:s}", "target", "y");
  assert_int_equal(promo_model_save(f->model, f->nn, f->pipeline, training, &err), PROMO_OK);
  json_decref(training);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fixture *f = *state;
  promo_nn_free(f->nn);
  promo_pipeline_free(f->pipeline);
  promo_matrix_clear(&f->m);
  unlink(f->csv);
  unlink(f->model);
  unlink(f->other);
  rmdir(f->dir);
  free(f);
  return 0;
}

static void test_round_trip_identical(void **state) {
  fixture *f = *state;
  promo_error err;
  promo_nn *nn = NULL;
  promo_pipeline *p = NULL;
  json_t *training = NULL;
  assert_int_equal(promo_model_load(f->model, &nn, &p, &training, &err), PROMO_OK);
  assert_string_equal(json_string_value(json_object_get(training, "target")), "y");
  assert_int_equal(promo_nn_n_inputs(nn), f->m.n_columns);
  assert_int_equal(promo_pipeline_n_outputs(p), f->m.n_columns);
  assert_memory_equal(promo_nn_params(nn), promo_nn_params(f->nn), promo_nn_n_params(nn) * sizeof(float));
  float pred[40];
  assert_int_equal(promo_nn_predict(nn, f->m.X, 40, pred, NULL, &err), PROMO_OK);
  assert_memory_equal(pred, f->pred, sizeof pred);
  json_decref(training);
  promo_pipeline_free(p);
  promo_nn_free(nn);
}

/* Write the saved file's tensors again with new metadata, and shrink tensor `shrink`'s
 * first dimension by one when it names a tensor. */
static void rewrite(const fixture *f, const char *drop_key, const char *shrink) {
  promo_error err;
  promo_model_file *file = NULL;
  assert_int_equal(promo_model_file_read(f->model, &file, &err), PROMO_OK);
  json_t *metadata = json_deep_copy(promo_model_file_metadata(file));
  if (drop_key != NULL) assert_int_equal(json_object_del(metadata, drop_key), 0);
  size_t n = promo_model_file_n_tensors(file);
  promo_tensor tensors[16];
  assert_true(n <= 16);
  for (size_t i = 0; i < n; i++) {
    tensors[i] = *promo_model_file_tensor(file, i);
    if (shrink != NULL && strcmp(tensors[i].name, shrink) == 0) tensors[i].dims[0]--;
  }
  assert_int_equal(promo_model_file_write(f->other, tensors, n, metadata, &err), PROMO_OK);
  json_decref(metadata);
  promo_model_file_free(file);
}

static void test_missing_pipeline_rejected(void **state) {
  fixture *f = *state;
  rewrite(f, "pipeline", NULL);
  promo_error err;
  promo_nn *nn = NULL;
  promo_pipeline *p = NULL;
  assert_int_equal(promo_model_load(f->other, &nn, &p, NULL, &err), PROMO_ERR_DATA);
  assert_null(nn);
  assert_null(p);
  assert_string_equal(err.path, f->other);
  assert_non_null(strstr(err.message, "\"pipeline\""));
}

static void test_shape_change_rejected(void **state) {
  fixture *f = *state;
  rewrite(f, NULL, "dense0.bias");
  promo_error err;
  promo_nn *nn = NULL;
  promo_pipeline *p = NULL;
  assert_int_equal(promo_model_load(f->other, &nn, &p, NULL, &err), PROMO_ERR_DATA);
  assert_null(nn);
  assert_string_equal(err.path, f->other);
  assert_non_null(strstr(err.message, "dense0.bias"));
  assert_non_null(strstr(err.message, "[3, 0]"));
  assert_non_null(strstr(err.message, "[4, 0]"));
}

static void test_missing_n_inputs_rejected(void **state) {
  fixture *f = *state;
  rewrite(f, "n_inputs", NULL);
  promo_error err;
  promo_nn *nn = NULL;
  promo_pipeline *p = NULL;
  assert_int_equal(promo_model_load(f->other, &nn, &p, NULL, &err), PROMO_ERR_DATA);
  assert_non_null(strstr(err.message, "\"n_inputs\""));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_round_trip_identical, setup, teardown),
      cmocka_unit_test_setup_teardown(test_missing_pipeline_rejected, setup, teardown),
      cmocka_unit_test_setup_teardown(test_shape_change_rejected, setup, teardown),
      cmocka_unit_test_setup_teardown(test_missing_n_inputs_rejected, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
