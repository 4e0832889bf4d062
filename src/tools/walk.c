/* Directory operands of genre-classify (walk.h). */
#include "walk.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

bool walk_is_audio_name(const char *name)
{
    const char *dot = strrchr(name, '.');
    if (!dot || dot == name)
        return false;
    const char *ext = dot + 1;
    size_t n = strlen(ext);
    /* Each extension, space-separated in the list. */
    for (const char *p = WALK_AUDIO_EXTENSIONS; *p;) {
        size_t len = strcspn(p, " ");
        if (len == n && strncasecmp(p, ext, n) == 0)
            return true;
        p += len;
        p += *p == ' ';
    }
    return false;
}

static int push(walk_list *list, const char *path, const char *error)
{
    if (list->n == list->cap) {
        size_t cap = list->cap ? 2 * list->cap : 16;
        walk_item *grown = realloc(list->items, cap * sizeof *grown);
        if (!grown)
            return -1;
        list->items = grown;
        list->cap = cap;
    }
    walk_item it = {strdup(path), error ? strdup(error) : NULL};
    if (!it.path || (error && !it.error)) {
        free(it.path);
        free(it.error);
        return -1;
    }
    list->items[list->n++] = it;
    return 0;
}

/* Byte order, not the locale's collation: the same order everywhere. */
static int by_name(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

static int visible(const struct dirent *e)
{
    return e->d_name[0] != '.';
}

/* Adds the audio files under dir; *found counts them. */
static int walk_dir(walk_list *list, const char *dir, size_t *found)
{
    struct dirent **entries;
    int n = scandir(dir, &entries, visible, by_name);
    if (n < 0) {
        char why[512];
        snprintf(why, sizeof why, "%s: cannot read the directory: %s", dir, strerror(errno));
        return push(list, dir, why);
    }
    int rc = 0;
    size_t dirlen = strlen(dir);
    bool slash = dirlen > 0 && dir[dirlen - 1] == '/';
    for (int i = 0; i < n; i++) {
        const char *name = entries[i]->d_name;
        size_t size = dirlen + strlen(name) + 2;
        char *path = rc == 0 ? malloc(size) : NULL;
        if (path) {
            snprintf(path, size, "%s%s%s", dir, slash ? "" : "/", name);
            struct stat st, lst;
            if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
                if (lstat(path, &lst) == 0 && !S_ISLNK(lst.st_mode))
                    rc = walk_dir(list, path, found);
            } else if (walk_is_audio_name(name)) {
                /* A file that stat() cannot see (a dangling link) is still
                 * listed: reading it gives the error. */
                rc = push(list, path, NULL);
                *found += rc == 0;
            }
            free(path);
        } else {
            rc = -1;
        }
        free(entries[i]);
    }
    free(entries);
    return rc;
}

int walk_add(walk_list *list, const char *operand)
{
    struct stat st;
    if (stat(operand, &st) != 0 || !S_ISDIR(st.st_mode))
        return push(list, operand, NULL);
    size_t before = list->n, found = 0;
    if (walk_dir(list, operand, &found) != 0)
        return -1;
    /* An unreadable top directory has said so already. */
    if (found == 0 && list->n == before) {
        char why[512];
        snprintf(why, sizeof why, "%s: no audio files (%s) in the directory", operand,
                 WALK_AUDIO_EXTENSIONS);
        return push(list, operand, why);
    }
    return 0;
}

void walk_free(walk_list *list)
{
    for (size_t i = 0; i < list->n; i++) {
        free(list->items[i].path);
        free(list->items[i].error);
    }
    free(list->items);
    *list = (walk_list){0};
}
