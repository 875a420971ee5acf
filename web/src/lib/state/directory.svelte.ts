// The workspace's reference data: agents, groups, custom fields and categories, loaded once after sign-in
// and reloaded by the admin screens after a change.
import { api, ok, type Agent, type Category, type CustomField, type Group } from '../api/client';

export class Directory {
  agents = $state<Agent[]>([]);
  groups = $state<Group[]>([]);
  fields = $state<CustomField[]>([]);
  categories = $state<Category[]>([]);
  loaded = $state(false);

  async load() {
    const [agents, groups, fields, categories] = await Promise.all([
      ok(api.GET('/api/v1/agents')),
      ok(api.GET('/api/v1/groups')),
      ok(api.GET('/api/v1/custom-fields')),
      ok(api.GET('/api/v1/categories')),
    ]);
    this.agents = agents;
    this.groups = groups;
    this.fields = fields;
    this.categories = categories;
    this.loaded = true;
  }

  agent(id: number | null | undefined): Agent | undefined {
    return id === null || id === undefined ? undefined : this.agents.find((agent) => agent.id === id);
  }

  agentName(id: number | null | undefined): string {
    return this.agent(id)?.name ?? (id ? `#${id}` : '');
  }

  group(id: number | null | undefined): Group | undefined {
    return id === null || id === undefined ? undefined : this.groups.find((group) => group.id === id);
  }

  /** Agents who can be assigned tickets (active, not collaborators). */
  get assignable(): Agent[] {
    return this.agents.filter((agent) => agent.active && agent.role !== 'collaborator');
  }
}
