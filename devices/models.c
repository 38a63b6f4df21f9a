// SPDX-License-Identifier: MIT
/* The table of device models (see models.h). */
#include <string.h>

#include "gpio.h"
#include "i2c.h"
#include "models.h"

const struct model models_table[] = {
	{"i2c", &i2c_dev_ops},
	{"gpio", &gpio_dev_ops},
};

unsigned models_count(void)
{
	return sizeof(models_table) / sizeof(models_table[0]);
}

const struct model *models_find(const char *type)
{
	for (unsigned i = 0; i < models_count(); i++)
		if (!strcmp(models_table[i].type, type))
			return &models_table[i];
	return NULL;
}
