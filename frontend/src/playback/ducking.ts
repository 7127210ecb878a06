// Lowers a speaker's own voice while their translation plays. A remote participant's audio plays through
// their video tile's <video> element (VideoGrid; the tile id is the Janus publisher id, which is the
// user id, and so the `speaker` of their speech); ducking sets that element's volume to DUCKED_VOLUME
// (about -14 dB: the voice stays audible under the translation) and restoring puts back what it was.
// An element registered while its speaker is ducked starts ducked.

import type { Ducker } from "./player";

export const DUCKED_VOLUME = 0.2;

export interface VolumeControl {
  volume: number;
}

export class MediaDucker implements Ducker {
  private readonly elements = new Map<string, Set<VolumeControl>>();
  private readonly ducked = new Set<string>();
  private readonly saved = new Map<VolumeControl, number>();

  /** Track `element` as `speaker`'s audio; returns the function that forgets it (restoring its volume). */
  register(speaker: string, element: VolumeControl): () => void {
    let set = this.elements.get(speaker);
    if (!set) {
      set = new Set();
      this.elements.set(speaker, set);
    }
    set.add(element);
    if (this.ducked.has(speaker)) this.lower(element);
    return () => {
      this.raise(element);
      set.delete(element);
    };
  }

  isDucked(speaker: string): boolean {
    return this.ducked.has(speaker);
  }

  duck(speaker: string): void {
    if (this.ducked.has(speaker)) return;
    this.ducked.add(speaker);
    this.elements.get(speaker)?.forEach((e) => this.lower(e));
  }

  restore(speaker: string): void {
    if (!this.ducked.delete(speaker)) return;
    this.elements.get(speaker)?.forEach((e) => this.raise(e));
  }

  private lower(element: VolumeControl): void {
    if (!this.saved.has(element)) this.saved.set(element, element.volume);
    element.volume = Math.min(element.volume, DUCKED_VOLUME);
  }

  private raise(element: VolumeControl): void {
    const volume = this.saved.get(element);
    if (volume === undefined) return;
    this.saved.delete(element);
    element.volume = volume;
  }
}
