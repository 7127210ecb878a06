// The app's one API client, shared through React context (tests build their own ApiClient).
import { createContext, useContext } from "react";

import { ApiClient } from "./client";

export const ApiContext = createContext<ApiClient | null>(null);

export function useApi(): ApiClient {
  const api = useContext(ApiContext);
  if (!api) throw new Error("useApi outside <ApiContext.Provider>");
  return api;
}
