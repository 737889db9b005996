/** Settings every example reads from the environment, with the defaults of `npm start`. */
export const port = Number(process.env.PORT ?? 3000);
export const host = process.env.HOST ?? '0.0.0.0';
export const dataDirectory = process.env.SYMPHONY_DATA_DIR ?? './.symphony-data';
